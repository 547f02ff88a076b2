import Foundation

/// Which part of a sweep this process runs: shard `index` of `count` takes the runs whose position in
/// `SweepSpec.runs` is `index` modulo `count`, so the assignment depends on nothing but the spec and the count.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw StudyError("shard \(index) of \(count) does not exist: the index must be 0...\(max(0, count - 1))")
        }
        self.index = index
        self.count = count
    }

    public static let whole = try! Shard(index: 0, count: 1)
    public var description: String { "\(index)/\(count)" }

    /// "i/n".
    public static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let index = parts[0], let count = parts[1] else {
            throw StudyError("--shard takes i/n (e.g. 2/8), got '\(text)'")
        }
        return try Shard(index: index, count: count)
    }

    /// The shard a scheduler's task is: the index from a Slurm job array (`SLURM_ARRAY_TASK_ID`) or a
    /// Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`), both 0-based; the count from `count` (the command line
    /// or the spec), else `AIRBENCH_SHARDS`, else Slurm's `SLURM_ARRAY_TASK_COUNT`. That last one is only a
    /// fallback: a resubmitted single index (`sbatch --array=2`) sees a count of 1, and an index outside the
    /// count is refused rather than silently running another shard's runs. No scheduler variable: the whole
    /// sweep.
    public static func fromEnvironment(_ environment: [String: String], count: Int?) throws -> Shard {
        let slurm = environment["SLURM_ARRAY_TASK_ID"], kubernetes = environment["JOB_COMPLETION_INDEX"]
        guard let indexText = slurm ?? kubernetes else { return count.map { _ in whole } ?? whole }
        let source = slurm != nil ? "SLURM_ARRAY_TASK_ID" : "JOB_COMPLETION_INDEX"
        guard let index = Int(indexText) else { throw StudyError("\(source)='\(indexText)' is not a task index") }
        let total = count ?? environment["AIRBENCH_SHARDS"].flatMap { Int($0) }
            ?? (slurm != nil ? environment["SLURM_ARRAY_TASK_COUNT"].flatMap { Int($0) } : nil)
        guard let total else {
            throw StudyError("\(source) is \(index) but the number of shards is unknown: give --shards N or 'shards' in the spec")
        }
        guard index < total else {
            throw StudyError("\(source) is \(index) but there are \(total) shard(s) (a resubmitted single array index sees SLURM_ARRAY_TASK_COUNT=1): give the total with --shards N or 'shards' in the spec")
        }
        return try Shard(index: index, count: total)
    }

    /// The runs of `runs` this shard takes.
    public func select<T>(_ runs: [T]) -> [T] {
        runs.enumerated().filter { $0.offset % count == index }.map(\.element)
    }
}
