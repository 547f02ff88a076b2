import Foundation

/// The CPU this process runs on, as Linux's `/proc/cpuinfo` names it: the model name with its family, model and
/// stepping numbers. A virtual machine may give Zen 3, Zen 4 and Zen 5 the same name ("AMD EPYC"); the numbers
/// tell them apart (AMD family 25 model 1 is a Zen 3, model 17 a Zen 4; family 26 is a Zen 5). Timings are only
/// comparable on one CPU model, so every report of a measurement and every run's log carries this.
public enum CPUModel {
    /// This machine's CPU, e.g. "AMD EPYC (family 25, model 17, stepping 1)"; "unknown" where `/proc/cpuinfo`
    /// cannot be read or names no model.
    public static let current: String = describe(cpuinfo: try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))

    /// The description of the first processor in a `/proc/cpuinfo` text (nil: "unknown").
    public static func describe(cpuinfo: String?) -> String {
        guard let cpuinfo else { return "unknown" }
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty, !fields.isEmpty { break }  // end of processor 0
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        guard let name = fields["model name"], !name.isEmpty else { return "unknown" }
        let numbers = [("family", fields["cpu family"]), ("model", fields["model"]), ("stepping", fields["stepping"])]
            .compactMap { label, value in value.map { "\(label) \($0)" } }
        return numbers.isEmpty ? name : "\(name) (\(numbers.joined(separator: ", ")))"
    }
}
