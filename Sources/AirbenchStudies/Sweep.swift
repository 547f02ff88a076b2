import Airbench
import AirbenchData
import AirbenchFormats
import AirbenchKernels
import Crypto
import Foundation

/// Runs the runs of one shard of a study that have no result yet, each writing exactly one result file into the
/// output folder.
///
/// Resumable by construction: a run is done exactly when its result file exists, and a result appears whole or
/// not at all. It is written to `.partial/` under a unique name, flushed to disk, then hard-linked to its final
/// name: `link(2)` is atomic and fails when the name exists, so a retried or duplicated task can never
/// overwrite or duplicate a finished result (two tasks racing on one run both compute it, and the second's
/// result is dropped). A process killed mid-run leaves at most a file in `.partial/`, which nothing reads.
public struct Sweep {
    public let spec: SweepSpec
    public let folder: URL
    public let shard: Shard
    public let convolution: ConvolutionAlgorithm

    public init(spec: SweepSpec, folder: URL, shard: Shard, convolution: ConvolutionAlgorithm = .auto) throws {
        self.spec = spec
        self.folder = folder
        self.shard = shard
        self.convolution = convolution
        do {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(".partial"),
                                                    withIntermediateDirectories: true)
        } catch { throw StudyError("cannot create the output folder \(folder.path): \(fileSystemReason(error))") }
    }

    /// This shard's runs, in order.
    public var runs: [SweepRun] { shard.select(spec.runs) }

    /// The runs of this shard without a result file.
    public var pending: [SweepRun] {
        runs.filter { !FileManager.default.fileExists(atPath: folder.appendingPathComponent($0.fileName).path) }
    }

    /// This shard's finished runs made at another arithmetic revision than this binary's, counted by revision (nil:
    /// written before revisions were recorded). They stay; runs added beside them give other bits for the same seed.
    /// A file that does not read as a result is left to `collect` to name: this is a note, not a check.
    public func finishedAtOtherRevisions() -> [Int?: Int] {
        var counts = [Int?: Int]()
        for run in runs {
            guard let result = try? SweepResult.read(from: folder.appendingPathComponent(run.fileName)) else { continue }
            let revision = result.machine.arithmeticRevision
            if revision != ArithmeticRevision.current { counts[revision, default: 0] += 1 }
        }
        return counts
    }

    /// Trains every pending run on `data` (its first `spec.trainLimit` training images) and writes its result.
    /// `report` hears of each run as it starts and ends.
    public func run(data: Dataset, report: (String) -> Void = { _ in }) throws {
        guard data.selection == spec.dataset else {
            throw StudyError("the study \(spec.name) is on \(spec.dataset), but the data given is \(data.selection)")
        }
        var data = data
        if let limit = spec.trainLimit {
            guard limit <= data.train.count else {
                throw StudyError("train_limit \(limit) exceeds the \(data.train.count) training images")
            }
            data.train = data.train.subset(Array(0..<limit))
        }
        // Every configuration fits this machine before the first run (the spec checked the ranges when read).
        for configuration in spec.configurations {
            do { try configuration.hyperparameters.validate(classes: data.classCount) } catch {
                throw StudyError("study \(spec.name), configuration '\(configuration.name)': \(error)")
            }
        }
        let testImages = CifarLoader.normalizedImages(data.test, normalization: data.normalization)
        let labelsHash = SHA256.hash(data: Data(data.test.labels)).map { String(format: "%02x", $0) }.joined()
        try writeTestLabels(data.test.labels, sha256: labelsHash)
        let todo = pending
        report("shard \(shard): \(runs.count) runs, \(runs.count - todo.count) already done, \(todo.count) to run")
        for (i, run) in todo.enumerated() {
            // Another task may have finished it meanwhile.
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(run.fileName).path) { continue }
            report("[\(i + 1)/\(todo.count)] \(run.configuration.name) seed \(run.seed)")
            let started = Date()
            let h = run.configuration.hyperparameters
            let (network, result) = try train(data: data, hyperparameters: h, seed: run.seed, convolution: convolution,
                                              evaluateEachEpoch: false)
            // The run's own (timed) evaluation gave levels 0...ttaLevel; the higher ones cost their views here.
            var logits = result.finalLogits
            if logits.count < 3 {
                logits += testImages.withUnsafeBufferPointer {
                    network.inferLevels(Array(logits.count...2), images: $0.baseAddress!, count: data.test.count,
                                        mirror: data.mirrorable)
                }
            }
            let predictions = logits.map { network.predictions(logits: $0) }
            let accuracy = logits.map { network.accuracy(logits: $0, labels: data.test.labels) }
            let selective = result.selectiveTTA.map {
                SweepResult.Selective(fraction: h.ttaSelect, selected: $0.selected.count, accuracy: result.ttaValidationAccuracy,
                                      predictions: Data(network.predictions(logits: $0.logits)).base64EncodedString())
            }
            let formatter = ISO8601DateFormatter()
            let record = SweepResult(
                sweep: spec.name, configuration: run.configuration.name, seed: run.seed, method: h.method,
                dataset: data.selection, hyperparameters: h, trainImages: data.train.count, testImages: data.test.count, accuracy: accuracy,
                ttaLevel: h.ttaLevel, timeSeconds: result.timeSeconds,
                predictions: predictions.map { Data($0).base64EncodedString() }, selectiveTTA: selective,
                testLabelsSHA256: labelsHash,
                programVersion: AirbenchVersion.current, machine: .current(convolution: convolution, plan: network.convolutionPlan),
                startedAt: formatter.string(from: started), finishedAt: formatter.string(from: Date()))
            let published = try publish(record, as: run.fileName)
            let tta = record.selectiveTTA.map { String(format: "selective TTA %d (%d images): %.4f, full ", h.ttaLevel, $0.selected, $0.accuracy) } ?? ""
            report(String(format: "    %@TTA %d: %.4f, no TTA: %.4f, %.1f s%@", tta, h.ttaLevel, record.accuracy[h.ttaLevel],
                          record.plainAccuracy, record.timeSeconds, published ? "" : " (another task had finished it: kept theirs)"))
        }
    }

    /// Writes the folder's `test-labels.json` unless it is there (then checks it holds these labels).
    func writeTestLabels(_ labels: [UInt8], sha256: String) throws {
        if let existing = try TestLabels.read(folder: folder) {
            guard existing.sha256 == sha256 else {
                throw StudyError("\(folder.path) holds results scored on other test labels: use another --out folder")
            }
            return
        }
        _ = try publish(TestLabels(sha256: sha256, base64: Data(labels).base64EncodedString()), as: TestLabels.fileName)
    }

    /// Writes `record` under `name` unless a file is there already; returns whether this one was kept.
    public func publish<T: Encodable>(_ record: T, as name: String) throws -> Bool {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(record)
        let partial = folder.appendingPathComponent(".partial/\(name).\(ProcessInfo.processInfo.processIdentifier).\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
            throw StudyError("cannot write \(partial.path)")
        }
        defer { unlink(partial.path) }
        do {
            let handle = try FileHandle(forWritingTo: partial)
            do {
                try handle.write(contentsOf: data)
                try handle.synchronize()
            } catch {
                try? handle.close()
                throw error
            }
            try handle.close()
        } catch { throw StudyError("cannot write \(partial.path): \(fileSystemReason(error))") }
        let final = folder.appendingPathComponent(name)
        if link(partial.path, final.path) == 0 { return true }
        if errno == EEXIST { return false }
        throw StudyError("cannot publish \(final.path): \(String(cString: strerror(errno)))")
    }
}
