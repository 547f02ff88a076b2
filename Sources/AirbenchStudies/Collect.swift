import Airbench
import AirbenchData
import AirbenchFormats
import Foundation

/// Mean, sample standard deviation and the 95% confidence interval of the mean (Student t) of some values.
public struct Summary: Codable, Sendable, Equatable {
    public var mean: Double, std: Double, low: Double, high: Double

    public init(_ values: [Double]) {
        mean = Statistics.mean(values)
        std = Statistics.standardDeviation(values)
        (low, high) = Statistics.confidenceInterval95(values)
    }
}

/// One configuration's runs summarised: accuracies with and without TTA, the variance between runs split into
/// test-set and distribution-wise parts, calibration, time and FLOPs (spec D.6; estimators in `Statistics`).
public struct ConfigurationSummary: Codable, Sendable, Equatable {
    public var configuration: String
    public var method: String
    public var runs: Int
    public var ttaLevel: Int
    /// Accuracy at the configuration's TTA level, and at level 0.
    public var tta: Summary
    public var plain: Summary
    /// Mean accuracy at each TTA level 0, 1, 2.
    public var meanAccuracyByLevel: [Double]
    /// Over the runs, at the configuration's TTA level: test-set std, distribution-wise std, CACE (nil for
    /// fewer than 2 runs).
    public var testSetStd: Double?
    public var distributionWiseStd: Double?
    public var cace: Double?
    public var meanTimeSeconds: Double
    /// The values studies plot against.
    public var trainEpochs: Double
    public var flip: String
    public var cutout: Int
    public var flopsPerRun: Double
    /// The configuration's overrides of the method, as text ("flip=random,trainEpochs=4").
    public var hyperparameters: Hyperparameters
}

/// The results of a study folder, read and grouped.
public struct StudyResults {
    public var results: [SweepResult]
    public var summaries: [ConfigurationSummary]
    /// The test labels (`test-labels.json`), when the folder has them.
    public var labels: [UInt8]?

    /// Reads every result in `folder` (not `.partial/`, not `collected/`) and summarises each configuration, in
    /// the order configurations first appear when results are sorted by configuration and seed.
    /// - Throws: when a file is not a result, or results disagree on the test labels.
    public static func read(folder: URL) throws -> StudyResults {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw StudyError("cannot read the results folder \(folder.path): \(fileSystemReason(error))")
        }
        let results = try names.filter { $0.hasSuffix(".json") && $0 != TestLabels.fileName }.sorted()
            .map { try SweepResult.read(from: folder.appendingPathComponent($0)) }
            .sorted { ($0.configuration, $0.seed) < ($1.configuration, $1.seed) }
        guard !results.isEmpty else { throw StudyError("\(folder.path) holds no results") }
        if Set(results.map(\.testLabelsSHA256)).count > 1 {
            throw StudyError("\(folder.path): the results were scored on different test sets")
        }
        var order = [String](), groups = [String: [SweepResult]]()
        for result in results {
            if groups[result.configuration] == nil { order.append(result.configuration) }
            groups[result.configuration, default: []].append(result)
        }
        let labels = try TestLabels.read(folder: folder)
        if let labels, labels.sha256 != results[0].testLabelsSHA256 {
            throw StudyError("\(folder.path): test-labels.json does not match the labels the results were scored on")
        }
        return StudyResults(results: results, summaries: order.map { summarize($0, groups[$0]!, labels: labels?.labels) },
                            labels: labels?.labels)
    }

    /// The runs of one configuration, by seed.
    public func runs(of configuration: String) -> [SweepResult] { results.filter { $0.configuration == configuration } }

    static func summarize(_ name: String, _ runs: [SweepResult], labels: [UInt8]?) -> ConfigurationSummary {
        let first = runs[0], h = first.hyperparameters, level = first.ttaLevel
        var ensemble: EnsembleStatistics?
        if runs.count >= 2, let labels {
            let predictions = runs.compactMap(\.ttaPredictedClasses)
            if predictions.count == runs.count {
                ensemble = EnsembleStatistics(predictions: predictions, labels: labels, classes: runs[0].dataset?.classCount ?? 10)
            }
        }
        return ConfigurationSummary(
            configuration: name, method: first.method, runs: runs.count, ttaLevel: level,
            tta: Summary(runs.map(\.ttaAccuracy)), plain: Summary(runs.map(\.plainAccuracy)),
            meanAccuracyByLevel: (0...2).map { l in Statistics.mean(runs.map { $0.accuracy[l] }) },
            testSetStd: ensemble?.testSetStd, distributionWiseStd: ensemble?.distributionWiseStd, cace: ensemble?.cace,
            meanTimeSeconds: Statistics.mean(runs.map(\.timeSeconds)), trainEpochs: h.trainEpochs,
            flip: h.flip.rawValue, cutout: h.cutout,
            flopsPerRun: RunPlan(h, trainImages: first.trainImages).cost(testImages: first.testImages).totalFLOPs,
            hyperparameters: h)
    }
}

/// The test labels of a study folder (`test-labels.json`, written by the first run of any shard), so that
/// collecting needs only the folder: the ensemble statistics score the stored predictions against them.
public struct TestLabels: Codable, Equatable {
    public var sha256: String
    /// One byte per test image, base64.
    public var base64: String
    public var labels: [UInt8] { Data(base64Encoded: base64).map { [UInt8]($0) } ?? [] }

    static let fileName = "test-labels.json"

    public static func read(folder: URL) throws -> TestLabels? {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try readFile(url)
        do { return try JSONDecoder().decode(TestLabels.self, from: data) } catch {
            throw StudyError("\(url.path): not a test-labels file (\(decodingReason(error)))")
        }
    }
}
