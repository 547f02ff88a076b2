import Airbench
import AirbenchData
import AirbenchKernels
import AirbenchStudies
import ArgumentParser
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a study: the configurations of a YAML spec crossed with its seeds, one result file per run.",
        discussion: """
            Each run writes one JSON result into --out (schema: docs/sweep-results.md): the resolved configuration, \
            seed, accuracies at TTA levels 0/1/2, time, program version, machine and every test prediction. Starting \
            again skips the runs that have a result; a result appears whole or not at all, and an existing one is \
            never overwritten, so retried, duplicated or killed tasks lose at most the run in progress. \
            Sharding: --shard i/n, or from a Slurm job array (SLURM_ARRAY_TASK_ID, 0-based) or a Kubernetes Indexed \
            Job (JOB_COMPLETION_INDEX) with the shard count from --shards, the spec's `shards`, or AIRBENCH_SHARDS. \
            --dry-run lists this shard's runs instead: done or todo, the result file and the configuration's \
            overrides of its method, then the counts; with --estimate it also times each configuration of the runs \
            to do on this machine as `airbench bench` times a run (its training steps, both while the whitening \
            bias trains and after it freezes, and the evaluation, on synthetic images; a few seconds to a minute \
            each) and estimates their time with the data set's official sizes. Spec format and examples: \
            studies/README.md.
            """)

    @Argument(help: ArgumentHelp("The study's YAML spec.", valueName: "spec.yaml")) var spec: String
    @Option(help: ArgumentHelp("Folder for the result files (created if missing).", valueName: "folder")) var out: String
    @Option(help: ArgumentHelp("Run only shard i of n (runs whose index is i modulo n).", valueName: "i/n")) var shard: String?
    @Option(help: "Number of shards when the index comes from the scheduler's environment.") var shards: Int?
    @Flag(help: "List this shard's runs (done or todo, result file, overrides) and their counts, and exit.") var dryRun = false
    @Flag(help: "With --dry-run: time each configuration of the runs to do on this machine and estimate their time.")
    var estimate = false
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1, got \(shards)") }
        if let shard { do { _ = try Shard.parse(shard) } catch { throw ValidationError("--shard \(shard): \(error)") } }
        if estimate && !dryRun { throw ValidationError("--estimate goes with --dry-run (a sweep that runs reports its times)") }
    }

    func run() throws {
        reportingErrors {
            let spec = try SweepSpec.load(from: URL(fileURLWithPath: self.spec), dataset: runtime.datasetOptions.requested())
            let shard = try self.shard.map(Shard.parse)
                ?? Shard.fromEnvironment(ProcessInfo.processInfo.environment, count: shards ?? spec.shards)
            let sweep = try Sweep(spec: spec, folder: URL(fileURLWithPath: out), shard: shard, convolution: runtime.kernel.convolution)
            if dryRun {
                let pending = sweep.pending, toDo = Set(pending.map(\.fileName))
                for run in sweep.runs {
                    // A configuration's own preset, where it has one, after its overrides of it.
                    let method = run.configuration.method == spec.method ? "" : "  method: \(run.configuration.method)"
                    print("\(toDo.contains(run.fileName) ? "todo" : "done")  \(run.fileName)  \(run.configuration.overridesText)\(method)")
                }
                print("\(sweep.runs.count) runs in shard \(shard) (\(spec.runs.count) in the study): "
                      + "\(sweep.runs.count - pending.count) done, \(pending.count) to do")
                printOtherRevisions(sweep)
                if estimate { try printEstimate(spec: spec, pending: pending, shard: shard) }
                return
            }
            let threads = try startKernels(spec)
            print("sweep \(spec.name): \(configurationCount(spec.configurations.count)), \(spec.runs.count) runs, "
                  + "shard \(shard), \(kernelConfiguration), arithmetic revision \(ArithmeticRevision.current), \(threads) thread(s)")
            printOtherRevisions(sweep)
            let data = try runtime.loadData(spec.dataset)
            print("data: \(data.summary)")
            fflush(nil)
            try sweep.run(data: data) { line in
                print(line)
                fflush(nil)
            }
        }
    }
}

extension SweepCommand {
    /// Sets the kernels up as the study's runs use them (its precision); the thread count.
    func startKernels(_ spec: SweepSpec) throws -> Int {
        var kernel = runtime.kernel
        kernel.precision = try spec.runPrecision(requested: kernel.precision, bf16Available: kernel.bf16Available)
        return kernel.start()
    }

    /// `--estimate`: each configuration of the runs to do, timed as a run (`RunTimeMeasurement`: the medians of 3 single
    /// steps of each kind, against a machine's passing hiccups), times its runs to do; then the shard's sum.
    func printEstimate(spec: SweepSpec, pending: [SweepRun], shard: Shard) throws {
        let threads = try startKernels(spec)
        let counts = spec.dataset.officialCounts
        var total = 0.0
        for configuration in spec.configurations {  // the order the runs follow
            let name = configuration.name, count = pending.filter { $0.configuration.name == name }.count
            guard count > 0 else { continue }
            var h = configuration.hyperparameters
            do { try h.validate(classes: spec.dataset.classCount) } catch {
                throw CLIError("study \(spec.name), configuration '\(name)': \(error)")  // as `sweep` says it
            }
            // A sweep's result holds TTA levels 0–2 of every run: each run evaluates all of their views.
            (h.ttaLevel, h.ttaSelect) = (2, 1)
            let plan = RunPlan(h, trainImages: counts.train)
            var generator = SeededGenerator(seed: 0)
            let network = try Network(h, classes: spec.dataset.classCount, convolution: runtime.kernel.convolution,
                                      generator: &generator)
            let seconds = try RunTimeMeasurement(network: network, hyperparameters: h, plan: plan, dataset: spec.dataset,
                                                 convolution: runtime.kernel.convolution, repeats: 3, steps: 1)
                .estimate.totalSeconds
            total += seconds * Double(count)
            print("estimate  \(name): \(count) to do × \(ProgressLine.duration(seconds)) = "
                  + ProgressLine.duration(seconds * Double(count)))
            fflush(nil)
        }
        print("estimated time of the \(pending.count) runs to do in shard \(shard): \(ProgressLine.duration(total)) on this "
              + "machine (\(kernelConfiguration), \(threads) thread(s); \(spec.dataset.description) at its official sizes, "
              + "\(counts.train) training and \(counts.test) test images)")
    }
}

/// Says which of a resumed shard's finished runs another arithmetic revision made: the study then mixes arithmetics.
func printOtherRevisions(_ sweep: Sweep) {
    let counts = sweep.finishedAtOtherRevisions()
    guard !counts.isEmpty else { return }
    let listed = counts.sorted { ($0.key ?? 0) < ($1.key ?? 0) }
        .map { "\($0.value) at \($0.key.map { "revision \($0)" } ?? "no recorded revision")" }.joined(separator: ", ")
    print("note: of this shard's finished runs, \(listed); this binary is arithmetic revision \(ArithmeticRevision.current): "
          + "they are kept, and runs added now give other bits for the same seed")
}

struct CollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Summarise a study folder: per-run and per-configuration tables (CSV and JSON).",
        discussion: """
            Writes runs.csv/json and configurations.csv/json into FOLDER/collected (or --into): per configuration \
            n, mean, std and 95% CI (Student t) of the TTA and no-TTA accuracy, test-set std, distribution-wise \
            std and CACE over the runs (estimators: docs/sweep-results.md), mean time and FLOPs per run.
            """)

    @Argument(help: ArgumentHelp("A sweep's --out folder.", valueName: "folder")) var folder: String
    @Option(help: ArgumentHelp("Where to write the tables (default FOLDER/collected).", valueName: "folder")) var into: String?

    func run() throws {
        reportingErrors {
            let collection = try StudyResults.read(folder: URL(fileURLWithPath: folder))
            let target = URL(fileURLWithPath: into ?? (folder as NSString).appendingPathComponent("collected"))
            let files = try collection.writeTables(to: target)
            print(collection.configurationsCSV, terminator: "")
            print("wrote \(files.map(\.path).joined(separator: ", "))")
        }
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two configurations of a study (or of two studies): difference of means, 95% CI, Welch's t-test, runs needed.")

    @Argument(help: ArgumentHelp("A sweep's --out folder.", valueName: "folder")) var folder: String
    @Argument(help: "The first configuration's name (as collect prints it).") var first: String
    @Argument(help: "The second configuration's name.") var second: String
    @Option(help: ArgumentHelp("Take the second configuration from this other sweep's --out folder (scored on the same test set), e.g. a study's runs in another precision against its own.",
                               valueName: "folder"))
    var against: String?
    @Flag(help: "Compare accuracy without TTA (default: each configuration's TTA level).") var noTTA = false
    @Option(help: ArgumentHelp("Also print the runs per configuration needed to detect this difference (in accuracy points, e.g. 0.02).",
                               valueName: "points"))
    var detect: Double?
    @Option(help: "Power for --detect.") var power = 0.8

    func validate() throws {
        if let detect, !(detect > 0 && detect <= 100) { throw ValidationError("--detect must be in (0, 100] accuracy points, got \(detect)") }
        if !(power > 0 && power < 1) { throw ValidationError("--power must be in (0, 1), got \(power)") }
    }

    func run() throws {
        reportingErrors {
            let collection = try StudyResults.read(folder: URL(fileURLWithPath: folder))
            // --against naming the study itself is the study compared with itself.
            let resolved = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath() }
            let otherFolder = against.map(resolved).flatMap { $0 == resolved(folder) ? nil : $0 }
            let other = try otherFolder.map { try StudyResults.read(folder: $0) }
            var comparison = try Comparison(collection, first, second, in: other, plain: noTTA,
                                            difference: detect.map { $0 / 100 }, power: power)
            if let against { comparison.labels = ("\(first) in \(folder)", "\(second) in \(against)") }
            print(comparison.text)
        }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a Markdown report with tables and SVG plots of a study folder.")

    @Argument(help: ArgumentHelp("A sweep's --out folder.", valueName: "folder")) var folder: String
    @Option(help: ArgumentHelp("Where to write report.md and the SVGs (default FOLDER/report).", valueName: "folder"))
    var into: String?
    @Option(help: "The report's title (default: the spec's description).") var title: String?
    @Option(help: ArgumentHelp("The study's spec: its findings, Table 4 and notes become sections of the report, each finding with a verdict.",
                               valueName: "spec.yaml"))
    var spec: String?

    func run() throws {
        reportingErrors {
            let url = URL(fileURLWithPath: folder)
            let studySpec = try spec.map { try SweepSpec.load(from: URL(fileURLWithPath: $0)) }
            let collection = try StudyResults.read(folder: url)
            let target = URL(fileURLWithPath: into ?? (folder as NSString).appendingPathComponent("report"))
            let files = try Report(collection, title: title ?? studySpec?.title ?? "Study \(url.lastPathComponent)", spec: studySpec).write(to: target)
            print("wrote \(files.map(\.lastPathComponent).joined(separator: ", ")) into \(target.path)")
        }
    }
}
