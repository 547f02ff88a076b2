import AirbenchStudies
import XCTest

/// Report plots a reader takes in at a glance: tick labels are plain numbers or powers of ten written out, never
/// C's exponent notation.
final class SVGChartTests: XCTestCase {
    /// The ticks' texts of an SVG (every `<text>` holding a digit).
    func tickTexts(_ svg: String) -> [String] {
        svg.components(separatedBy: "<text").dropFirst().compactMap { part in
            guard let start = part.firstIndex(of: ">"), let end = part.range(of: "</text>") else { return nil }
            let text = String(part[part.index(after: start)..<end.lowerBound])
            return text.contains(where: \.isNumber) ? text : nil
        }
    }

    /// Figure 3's axes: FLOPs on a log scale from 3.6×10¹⁴ to 7.2×10¹⁵, error on a log scale.
    func testLogAxisTicksArePowersOfTenWrittenOut() {
        let chart = SVGChart(title: "FLOPs against error", xLabel: "FLOPs", yLabel: "error (%)", logX: true, logY: true)
        let svg = chart.lines([.init(name: "family", points: [(3.6e14, 5.99, nil, nil), (1.4e15, 4.99, nil, nil),
                                                              (7.2e15, 3.95, nil, nil)])])
        let ticks = tickTexts(svg)
        XCTAssertFalse(ticks.contains { $0.contains("e+") || $0.contains("e-") }, "\(ticks)")
        XCTAssertTrue(ticks.contains("10¹⁵"), "\(ticks)")
        XCTAssertTrue(ticks.contains { $0.hasSuffix("×10¹⁴") }, "\(ticks)")
    }

    /// A linear axis of large values (seconds of a study, images) and of small ones.
    func testLinearAxisTicksOfLargeAndSmallValues() {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y")
        let large = tickTexts(chart.lines([.init(name: "a", points: [(1e6, 0.001, nil, nil), (3e6, 0.004, nil, nil)])]))
        XCTAssertFalse(large.contains { $0.contains("e+") || $0.contains("e-") }, "\(large)")
        XCTAssertTrue(large.contains("2×10⁶"), "\(large)")
        XCTAssertTrue(large.contains { $0.hasSuffix("×10⁻³") }, "\(large)")
        let plain = tickTexts(chart.lines([.init(name: "a", points: [(1, 90.5, nil, nil), (10, 91.5, nil, nil)])]))
        XCTAssertTrue(plain.contains("91"), "\(plain)")
    }
}
