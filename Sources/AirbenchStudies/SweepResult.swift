import Airbench
import AirbenchData
import AirbenchFormats
import AirbenchKernels
import Foundation

/// The result file of one run of a sweep, one JSON file per run. The schema is documented in
/// docs/sweep-results.md; `schemaVersion` changes whenever a field changes meaning or disappears.
public struct SweepResult: Codable, Sendable, Equatable {
    public static let schemaName = "airbench-sweep-result"
    public static let currentSchemaVersion = 1

    public var schema: String = SweepResult.schemaName
    public var schemaVersion: Int = SweepResult.currentSchemaVersion
    public var sweep: String
    public var configuration: String
    public var seed: UInt64
    public var method: String
    /// The data set trained and scored on; absent in files written before there was a choice (CIFAR-10).
    public var dataset: DatasetSelection?
    /// Every resolved hyperparameter of the run.
    public var hyperparameters: Hyperparameters
    public var trainImages: Int
    public var testImages: Int
    /// Test accuracy at TTA levels 0, 1 and 2 (index = level).
    public var accuracy: [Double]
    /// The configuration's own TTA level (`hyperparameters.ttaLevel`): the accuracy a study reports as "TTA".
    public var ttaLevel: Int
    /// The run's timed seconds (paper Section 2: whitening, training and the evaluation at its TTA level).
    public var timeSeconds: Double
    /// Predicted class of every test image at TTA levels 0, 1 and 2: one byte per image, base64.
    public var predictions: [String]
    /// hiverge's selective TTA, the accuracy the configuration reports when it has one (`ttaSelect` < 1); absent
    /// otherwise, and in results written before it existed.
    public var selectiveTTA: Selective?
    /// SHA-256 (hex) of the test labels the predictions are scored against, so runs on other data are caught.
    public var testLabelsSHA256: String
    public var programVersion: String
    public var machine: Machine
    public var startedAt: String
    public var finishedAt: String

    /// What ran the run: the things that change the bits, and where.
    public struct Machine: Codable, Sendable, Equatable {
        public var host: String
        /// `CPUModel.current` (results written before it held only the model name, e.g. "AMD EPYC").
        public var cpu: String
        public var kernelPath: String
        public var precision: String
        public var convolution: String
        /// What `convolution` resolved to per layer (`ConvolutionPlan.description`; absent in results written
        /// before the per-layer choice existed).
        public var convolutionPlan: String?
        /// The code's `ArithmeticRevision` (absent in results written before it was recorded).
        public var arithmeticRevision: Int?
        public var threads: Int

        /// This process's machine and kernel settings; `plan` is the run's network's convolution plan.
        public static func current(convolution: ConvolutionAlgorithm, plan: ConvolutionPlan) -> Machine {
            Machine(host: ProcessInfo.processInfo.hostName, cpu: CPUModel.current, kernelPath: KernelPath.active.description,
                    precision: KernelPrecision.active.rawValue, convolution: convolution.rawValue,
                    convolutionPlan: plan.description, arithmeticRevision: ArithmeticRevision.current,
                    threads: KernelThreads.count)
        }
    }

    /// Selective TTA's outcome: the least confident `selected` test images (a `fraction` of them) got the mean of
    /// the level's views, the others their plain view.
    public struct Selective: Codable, Sendable, Equatable {
        public var fraction: Double
        public var selected: Int
        public var accuracy: Double
        /// Predicted class of every test image: one byte per image, base64.
        public var predictions: String

        public init(fraction: Double, selected: Int, accuracy: Double, predictions: String) {
            (self.fraction, self.selected, self.accuracy, self.predictions) = (fraction, selected, accuracy, predictions)
        }
    }

    /// The predicted classes at `level`.
    public func predictedClasses(level: Int) -> [UInt8]? {
        guard predictions.indices.contains(level) else { return nil }
        return Self.classes(predictions[level])
    }

    /// The predicted classes behind `ttaAccuracy`: the selective TTA's when there is one, else the TTA level's.
    public var ttaPredictedClasses: [UInt8]? {
        selectiveTTA.map { Self.classes($0.predictions) } ?? predictedClasses(level: ttaLevel)
    }

    static func classes(_ base64: String) -> [UInt8]? { Data(base64Encoded: base64).map { [UInt8]($0) } }

    /// The accuracy the configuration reports as TTA (selective TTA's when it has one, else its level's), and
    /// without TTA.
    public var ttaAccuracy: Double { selectiveTTA?.accuracy ?? accuracy[ttaLevel] }
    public var plainAccuracy: Double { accuracy[0] }

    /// Reads and checks a result file.
    public static func read(from url: URL) throws -> SweepResult {
        let data = try readFile(url)
        let result: SweepResult
        do { result = try JSONDecoder().decode(SweepResult.self, from: data) } catch {
            throw StudyError("\(url.path): not a sweep result (\(decodingReason(error)))")
        }
        guard result.schema == schemaName, result.schemaVersion == currentSchemaVersion else {
            throw StudyError("\(url.path): schema \(result.schema) version \(result.schemaVersion); this program reads version \(currentSchemaVersion)")
        }
        guard result.accuracy.count == 3, result.predictions.count == 3 else {
            throw StudyError("\(url.path): needs accuracies and predictions at TTA levels 0, 1 and 2")
        }
        return result
    }
}

