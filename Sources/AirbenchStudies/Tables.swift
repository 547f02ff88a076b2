import AirbenchFormats
import Airbench
import Foundation

extension StudyResults {
    /// Per-run and per-configuration tables as CSV and JSON, written (atomically) into `folder`:
    /// runs.csv, runs.json, configurations.csv, configurations.json. Returns the files written.
    @discardableResult
    public func writeTables(to folder: URL) throws -> [URL] {
        try createFolder(folder)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let files: [(String, Data)] = [
            ("runs.csv", Data(runsCSV.utf8)), ("configurations.csv", Data(configurationsCSV.utf8)),
            ("runs.json", try encoder.encode(results.map(RunRow.init))),
            ("configurations.json", try encoder.encode(summaries)),
        ]
        return try files.map { name, data in
            let url = folder.appendingPathComponent(name)
            try writeFileAtomically(data, to: url)
            return url
        }
    }

    /// One line per run.
    public var runsCSV: String {
        let header = "configuration,seed,tta_level,accuracy_tta0,accuracy_tta1,accuracy_tta2,time_seconds,method,host,kernel_path,precision"
        return ([header] + results.map { r in
            [csv(r.configuration), "\(r.seed)", "\(r.ttaLevel)"] + r.accuracy.map(number)
                + [number(r.timeSeconds), csv(r.method), csv(r.machine.host), r.machine.kernelPath, r.machine.precision]
        }.map { $0.joined(separator: ",") }).joined(separator: "\n") + "\n"
    }

    /// One line per configuration.
    public var configurationsCSV: String {
        let header = "configuration,runs,tta_level,tta_mean,tta_std,tta_ci95_low,tta_ci95_high,plain_mean,plain_std,"
            + "plain_ci95_low,plain_ci95_high,test_set_std,distribution_wise_std,cace,mean_time_seconds,train_epochs,"
            + "flip,cutout,pflops_per_run"
        return ([header] + summaries.map { s in
            [csv(s.configuration), "\(s.runs)", "\(s.ttaLevel)", number(s.tta.mean), number(s.tta.std), number(s.tta.low),
             number(s.tta.high), number(s.plain.mean), number(s.plain.std), number(s.plain.low), number(s.plain.high),
             s.testSetStd.map(number) ?? "", s.distributionWiseStd.map(number) ?? "", s.cace.map(number) ?? "",
             number(s.meanTimeSeconds), number(s.trainEpochs), s.flip, "\(s.cutout)", number(s.flopsPerRun / 1e15)]
        }.map { $0.joined(separator: ",") }).joined(separator: "\n") + "\n"
    }
}

/// runs.json: a result without its predictions and hyperparameters (those stay in the result files).
struct RunRow: Codable {
    var configuration: String, seed: UInt64, ttaLevel: Int, accuracy: [Double], timeSeconds: Double
    var method: String, host: String, kernelPath: String, precision: String
    init(_ r: SweepResult) {
        (configuration, seed, ttaLevel, accuracy, timeSeconds) = (r.configuration, r.seed, r.ttaLevel, r.accuracy, r.timeSeconds)
        (method, host, kernelPath, precision) = (r.method, r.machine.host, r.machine.kernelPath, r.machine.precision)
    }
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
func csv(_ text: String) -> String {
    text.contains(where: { ",\"\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
}

func number(_ x: Double) -> String { String(format: "%.6g", x) }
