import AirbenchData
import Foundation

/// The one check of a method's hyperparameters, made before any work: `airbench train` runs it on the options
/// and `--set` values before the data loads, a sweep on every expanded configuration before its first run, and
/// `train` again on entry. Every number is checked against the range it can run with, so that no value (0,
/// negative, huge, infinite, NaN) reaches an integer conversion, a precondition or an allocation it cannot make;
/// what depends on the data (a batch larger than the training set) is checked by `train` once the data is there.
///
/// The bounds on sizes (epochs, batch, widths) are generous against the family (at most 80 epochs, batch 2000,
/// width 512) and keep every buffer and schedule of a run a bounded size.
extension Hyperparameters {
    /// The largest values of the size-like hyperparameters.
    public enum Limits {
        public static let trainEpochs = 1000.0
        public static let batchSize = 65_536
        public static let width = 8192
        public static let interval = 100_000
        public static let whiteningImages = 10_000_000
        /// Image side of every data set of the family (32×32): translation reflects at most side − 1 pixels.
        public static let imageSide = ImageSplit.imageSide
    }

    /// Throws the first value outside its range, as one line naming the key, the value and the allowed range.
    /// - Throws: `TrainingError.invalidConfiguration`.
    public func validate() throws {
        if let problem = problems().first { throw TrainingError.invalidConfiguration(problem.description) }
    }

    /// Bytes of what a run allocates by its sizes, counted before anything is allocated: the workspaces (the
    /// training batch's, the evaluation's of 500 images and airbench96_faster's proxy's) and five copies of the
    /// state (parameters, gradients, momentum, Lookahead, Muon). Convolution scratch is not counted.
    public func memoryBytes(classes: Int) -> Int {
        let spec = networkSpec(classes: classes)
        var bytes = Workspace.Size(spec: spec, batch: proxy?.keep ?? batchSize).bytes
            + Workspace.Size(spec: spec, batch: 500).bytes + 5 * 4 * Network.layout(spec: spec).count
        if let p = proxyHyperparameters {
            let proxySpec = p.networkSpec(classes: classes)
            bytes += Workspace.Size(spec: proxySpec, batch: batchSize).bytes + 5 * 4 * Network.layout(spec: proxySpec).count
        }
        return bytes
    }

    /// `validate`, then whether the run's counted buffers (`memoryBytes`) fit in three quarters of `memory` bytes
    /// (default: this machine's), so that a batch or width too large for the machine is refused, not killed
    /// mid-run. Three quarters, because what is counted is about 84% of a run's measured peak (2.23 of 2.66 GiB for
    /// airbench94 at batch 1,024: the data, the test images and the convolutions' scratch come on top).
    /// - Throws: `TrainingError.invalidConfiguration`.
    public func validate(classes: Int, memory: UInt64 = ProcessInfo.processInfo.physicalMemory) throws {
        try validate()
        let needed = Double(memoryBytes(classes: classes)), available = Double(memory)
        guard needed <= 0.75 * available else {
            throw TrainingError.invalidConfiguration(String(
                format: "batchSize = %d with widths %@ needs about %.1f GiB of buffers, more than three quarters of this machine's %.1f GiB",
                batchSize, widths.array.map(String.init).joined(separator: "/"), needed / 1_073_741_824,
                available / 1_073_741_824))
        }
    }

    /// Every value outside its range (empty when all can run).
    public func problems() -> [HyperparameterProblem] {
        var found = [HyperparameterProblem]()
        func check(_ key: String, _ value: Double, _ allowed: String, _ ok: (Double) -> Bool) {
            if !(value.isFinite && ok(value)) { found.append(.init(key: key, description: "\(key) = \(value) is outside \(allowed)")) }
        }
        func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) {
            if !range.contains(value) {
                found.append(.init(key: key, description: "\(key) = \(value) is outside \(range.lowerBound)...\(range.upperBound)"))
            }
        }
        check("trainEpochs", trainEpochs, "(0, \(Int(Limits.trainEpochs))]") { $0 > 0 && $0 <= Limits.trainEpochs }
        check("batchSize", batchSize, 2...Limits.batchSize)
        for (key, value) in [("learningRate", learningRate), ("weightDecay", weightDecay), ("biasScaler", biasScaler),
                             ("whitenBiasScaler", whitenBiasScaler), ("muonLearningRate", muonLearningRate),
                             ("muonWeightDecay", muonWeightDecay), ("scheduleStart", scheduleStart),
                             ("scheduleEnd", scheduleEnd), ("brightnessJitter", brightnessJitter)] {
            check(key, value, "[0, ∞) (a finite number)") { $0 >= 0 }
        }
        for (key, value) in [("momentum", momentum), ("muonMomentum", muonMomentum), ("contrastJitter", contrastJitter)] {
            check(key, value, "[0, 1)") { $0 >= 0 && $0 < 1 }
        }
        // Muon's decay factor 1 − lr·d must not turn negative (the schedule only lowers lr).
        if muonLearningRate * muonDecayPerStep > 1 {
            found.append(.init(key: "muonWeightDecay", description: "muonWeightDecay = \(muonWeightDecay) per 1,024 examples "
                               + "is \(muonDecayPerStep) per step of \(batchSize), which times muonLearningRate = \(muonLearningRate) "
                               + "exceeds 1: the decay factor 1 − lr·wd would be negative"))
        }
        for (key, value) in [("labelSmoothing", labelSmoothing), ("schedulePeak", schedulePeak),
                             ("batchNormMomentum", batchNormMomentum)] {
            check(key, value, "[0, 1]") { $0 >= 0 && $0 <= 1 }
        }
        check("lookaheadInterval", lookaheadInterval, 1...Limits.interval)
        if let whitenBiasEpochs {
            check("whitenBiasEpochs", whitenBiasEpochs, "[0, \(Int(Limits.trainEpochs))] (or null: never frozen)") {
                $0 >= 0 && $0 <= Limits.trainEpochs
            }
        }
        check("whiteningImages", whiteningImages, 1...Limits.whiteningImages)
        check("whiteningEpsilon", whiteningEpsilon, "(0, ∞) (a finite number)") { $0 > 0 }
        for (key, value) in zip(["widths.block1", "widths.block2", "widths.block3"], widths.array) {
            check(key, value, 1...Limits.width)
        }
        check("convsPerGroup", convsPerGroup, 2...3)
        if activationAfterAdd && !residual {
            found.append(.init(key: "activationAfterAdd", description: "activationAfterAdd = true needs residual = true"))
        }
        check("batchNormEpsilon", batchNormEpsilon, "(0, 1]") { $0 > 0 && $0 <= 1 }
        if let scalingFactor { check("scalingFactor", scalingFactor, "(0, ∞) (or null: 1/widths.block3)") { $0 > 0 } }
        check("translate", translate, 0...(Limits.imageSide - 1))
        check("cutout", cutout, 0...Limits.imageSide)
        check("ttaLevel", ttaLevel, 0...2)
        check("ttaSelect", ttaSelect, "(0, 1] (1: every image gets the TTA views)") { $0 > 0 && $0 <= 1 }
        if let proxy {
            check("proxy.keep", proxy.keep, 2...max(2, batchSize))
            check("proxy.stepInterval", proxy.stepInterval, 1...Limits.interval)
            for (key, value) in zip(["proxy.widths.block1", "proxy.widths.block2", "proxy.widths.block3"], proxy.widths.array) {
                check(key, value, 1...Limits.width)
            }
        }
        return found
    }
}

/// A hyperparameter outside its range: the key (dotted for nested fields) and one line saying what is wrong.
public struct HyperparameterProblem: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var description: String
}
