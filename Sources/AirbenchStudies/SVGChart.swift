import Foundation

/// Small, dependency-free SVG charts for study reports: x–y charts (lines with confidence bands, labelled
/// points, linear or log axes), bar charts with error bars, and histograms.
public struct SVGChart {
    public struct Series {
        public var name: String
        /// x, y and an optional band (low, high) around y.
        public var points: [(x: Double, y: Double, low: Double?, high: Double?)]
        public var connect = true
        public init(name: String, points: [(x: Double, y: Double, low: Double?, high: Double?)], connect: Bool = true) {
            self.name = name
            self.points = points
            self.connect = connect
        }
    }

    public var title: String, xLabel: String, yLabel: String
    public var logX = false, logY = false
    let width = 820.0, height = 440.0
    let left = 70.0, right = 290.0, top = 40.0, bottom = 55.0
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                         "#bcbd22", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false) {
        (self.title, self.xLabel, self.yLabel, self.logX, self.logY) = (title, xLabel, yLabel, logX, logY)
    }

    /// An x–y chart of `series`: lines (or points) with shaded bands where a band is given.
    public func lines(_ series: [Series]) -> String {
        let all = series.flatMap(\.points)
        let xs = all.map(\.x), ys = all.flatMap { [$0.y, $0.low ?? $0.y, $0.high ?? $0.y] }
        let xAxis = Axis(values: xs, log: logX, from: left, to: width - right)
        let yAxis = Axis(values: ys, log: logY, from: height - bottom, to: top)
        var body = frame(xAxis, yAxis)
        for (i, s) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let points = s.points.sorted { $0.x < $1.x }
            let banded = points.filter { $0.low != nil && $0.high != nil }
            if banded.count >= 2 {
                let upper = banded.map { "\(f(xAxis.map($0.x))),\(f(yAxis.map($0.high!)))" }
                let lower = banded.reversed().map { "\(f(xAxis.map($0.x))),\(f(yAxis.map($0.low!)))" }
                body += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
            } else {
                for p in banded {  // a single point's interval as an error bar
                    body += "<line x1=\"\(f(xAxis.map(p.x)))\" y1=\"\(f(yAxis.map(p.low!)))\" x2=\"\(f(xAxis.map(p.x)))\" y2=\"\(f(yAxis.map(p.high!)))\" stroke=\"\(color)\"/>\n"
                }
            }
            if s.connect && points.count >= 2 {
                body += "<polyline points=\"\(points.map { "\(f(xAxis.map($0.x))),\(f(yAxis.map($0.y)))" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }
            for p in points {
                body += "<circle cx=\"\(f(xAxis.map(p.x)))\" cy=\"\(f(yAxis.map(p.y)))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            }
            body += legend(i, s.name, color)
        }
        return document(body)
    }

    /// One bar per entry with its interval as an error bar; the value axis need not start at 0 (accuracies).
    /// Bars with interval whiskers, numbered; from the bottom of the axis, or from `baseline` (drawn as a line,
    /// and bars go up or down from it: differences, whose sign matters).
    public func bars(_ bars: [(label: String, value: Double, low: Double, high: Double)], baseline: Double? = nil) -> String {
        let yAxis = Axis(values: bars.flatMap { [$0.low, $0.high, $0.value] } + (baseline.map { [$0] } ?? []), log: false,
                         from: height - bottom, to: top)
        let slot = (width - left - right) / Double(max(bars.count, 1))
        var body = frame(nil, yAxis)
        let base = baseline.map { yAxis.map($0) } ?? height - bottom
        if baseline != nil {
            body += "<line x1=\"\(f(left))\" y1=\"\(f(base))\" x2=\"\(f(width - right))\" y2=\"\(f(base))\" stroke=\"black\" stroke-width=\"1\"/>\n"
        }
        for (i, bar) in bars.enumerated() {
            let x = left + slot * Double(i), color = Self.colors[i % Self.colors.count]
            let y = yAxis.map(bar.value)
            body += "<rect x=\"\(f(x + slot * 0.15))\" y=\"\(f(min(y, base)))\" width=\"\(f(slot * 0.7))\" height=\"\(f(abs(base - y)))\" fill=\"\(color)\" fill-opacity=\"0.75\"/>\n"
            let cx = f(x + slot / 2)
            body += "<line x1=\"\(cx)\" y1=\"\(f(yAxis.map(bar.low)))\" x2=\"\(cx)\" y2=\"\(f(yAxis.map(bar.high)))\" stroke=\"black\" stroke-width=\"1.5\"/>\n"
            body += legend(i, bar.label, color)
            body += "<text x=\"\(cx)\" y=\"\(f(height - bottom + 16))\" font-size=\"11\" text-anchor=\"middle\">\(i + 1)</text>\n"
        }
        return document(body)
    }

    /// Counts of `values` in `bins` equal bins, one colour per group, bars side by side within a bin.
    public func histogram(_ groups: [(name: String, values: [Double])], bins: Int = 12) -> String {
        let all = groups.flatMap(\.values)
        let low = all.min() ?? 0, high = max(all.max() ?? 1, low + 1e-9)
        let step = (high - low) / Double(bins)
        let counts = groups.map { g in
            (0..<bins).map { b in g.values.filter { min(bins - 1, Int(($0 - low) / step)) == b }.count }
        }
        let xAxis = Axis(values: [low, high], log: false, from: left, to: width - right)
        let yAxis = Axis(values: [0, Double(counts.flatMap { $0 }.max() ?? 1)], log: false, from: height - bottom, to: top,
                         integers: true)
        var body = frame(xAxis, yAxis)
        let binWidth = (xAxis.map(high) - xAxis.map(low)) / Double(bins), barWidth = binWidth / Double(max(groups.count, 1))
        for (g, group) in groups.enumerated() {
            let color = Self.colors[g % Self.colors.count]
            for b in 0..<bins where counts[g][b] > 0 {
                let x = xAxis.map(low + Double(b) * step) + Double(g) * barWidth, y = yAxis.map(Double(counts[g][b]))
                body += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth))\" height=\"\(f(height - bottom - y))\" fill=\"\(color)\" fill-opacity=\"0.8\"/>\n"
            }
            body += legend(g, group.name, color)
        }
        return document(body)
    }

    // MARK: Drawing pieces

    func frame(_ xAxis: Axis?, _ yAxis: Axis) -> String {
        var s = "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(width - left - right))\" height=\"\(f(height - top - bottom))\" fill=\"white\" stroke=\"#444\"/>\n"
        for tick in yAxis.ticks {
            let y = f(yAxis.map(tick))
            s += "<line x1=\"\(f(left))\" y1=\"\(y)\" x2=\"\(f(width - right))\" y2=\"\(y)\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(y)\" font-size=\"11\" text-anchor=\"end\" dominant-baseline=\"middle\">\(yAxis.label(tick))</text>\n"
        }
        if let xAxis {
            for tick in xAxis.ticks {
                let x = f(xAxis.map(tick))
                s += "<line x1=\"\(x)\" y1=\"\(f(top))\" x2=\"\(x)\" y2=\"\(f(height - bottom))\" stroke=\"#eee\"/>\n"
                s += "<text x=\"\(x)\" y=\"\(f(height - bottom + 16))\" font-size=\"11\" text-anchor=\"middle\">\(xAxis.label(tick))</text>\n"
            }
        }
        s += "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 12))\" font-size=\"13\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text x=\"16\" y=\"\(f((top + height - bottom) / 2))\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f((top + height - bottom) / 2)))\">\(escape(yLabel))</text>\n"
        return s
    }

    func legend(_ i: Int, _ name: String, _ color: String) -> String {
        let x = width - right + 12, y = top + 10 + Double(i) * 18
        let text = name.count > 42 ? String(name.prefix(41)) + "…" : name
        return "<rect x=\"\(f(x))\" y=\"\(f(y - 6))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>\n"
            + "<text x=\"\(f(x + 17))\" y=\"\(f(y + 4))\" font-size=\"11\">\(escape(text))</text>\n"
    }

    func document(_ body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
            + "<text x=\"\(f(width / 2))\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">\(escape(title))</text>\n"
            + body + "</svg>\n"
    }

    func f(_ x: Double) -> String { String(format: "%.1f", x) }
    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// A linear or logarithmic axis mapping data values to pixels, with round tick values.
struct Axis {
    let low: Double, high: Double, log: Bool, from: Double, to: Double
    let ticks: [Double]

    init(values: [Double], log: Bool, from: Double, to: Double, integers: Bool = false) {
        let finite = values.filter { $0.isFinite && (!log || $0 > 0) }
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if hi <= lo { (lo, hi) = log ? (lo / 2, hi * 2) : (lo - 0.5, hi + 0.5) }
        if log {
            let (a, b) = (Foundation.log10(lo), Foundation.log10(hi)), pad = (b - a) * 0.06
            (lo, hi) = (pow(10, a - pad), pow(10, b + pad))
            // 1-2-5 per decade over wide ranges; every integer multiple (1, 2, 3, 4, …) within a decade or two.
            let multiples: [Double] = Foundation.log10(hi / lo) > 2 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9]
            let decades = Array(Int(floor(Foundation.log10(lo)))...Int(ceil(Foundation.log10(hi)))).flatMap { e in
                multiples.map { $0 * pow(10, Double(e)) }
            }.filter { $0 >= lo && $0 <= hi }
            // A range narrower than a 1-2-5 step gets evenly spaced round values instead.
            ticks = decades.count >= 2 ? decades : Self.linearTicks(lo, hi, integers: false)
        } else {
            let pad = (hi - lo) * 0.06
            (lo, hi) = (integers ? max(lo - pad, 0) : lo - pad, hi + pad)
            ticks = Self.linearTicks(lo, hi, integers: integers)
        }
        (low, high, self.log, self.from, self.to) = (lo, hi, log, from, to)
    }

    /// About six round values (steps of 1, 2, 2.5 or 5 × 10^k; at least 1 for counts) in [lo, hi].
    static func linearTicks(_ lo: Double, _ hi: Double, integers: Bool) -> [Double] {
        let raw = (hi - lo) / 6, magnitude = pow(10, floor(Foundation.log10(raw)))
        var step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        if integers { step = max(1, step.rounded(.up)) }
        return stride(from: ceil(lo / step) * step, through: hi, by: step).map { $0 }
    }

    func map(_ x: Double) -> Double {
        let t = log ? (Foundation.log10(x) - Foundation.log10(low)) / (Foundation.log10(high) - Foundation.log10(low))
            : (x - low) / (high - low)
        return from + t * (to - from)
    }

    /// A tick's text: plain numbers between 0.01 and 10,000, powers of ten written out beyond (3×10¹², not
    /// `3e+12`, which reads as a typo on a plot).
    func label(_ x: Double) -> String {
        let value = log ? x : (x * 1e6).rounded() / 1e6 + 0  // + 0 turns −0 into 0
        let size = abs(value)
        return size != 0 && (size >= 10_000 || size < 0.01) ? Self.scientific(value) : String(format: "%g", value)
    }

    /// `value` as m×10ⁿ with the exponent in superscript digits (10ⁿ alone when m is 1), m to three digits.
    static func scientific(_ value: Double) -> String {
        var exponent = Int(floor(Foundation.log10(abs(value))))
        var mantissa = (value / pow(10, Double(exponent)) * 100).rounded() / 100
        if abs(mantissa) >= 10 { (mantissa, exponent) = (mantissa / 10, exponent + 1) }
        let superscripts: [Character: Character] = ["0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶",
                                                    "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻"]
        let power = "10" + String(String(exponent).map { superscripts[$0]! })
        return mantissa == 1 ? power : mantissa == -1 ? "−" + power : String(format: "%g", mantissa) + "×" + power
    }
}
