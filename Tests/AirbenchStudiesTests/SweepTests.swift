import Airbench
import AirbenchData
import AirbenchKernels
import AirbenchStudies
import Foundation
import XCTest

final class SweepSpecTests: XCTestCase {
    let spec = """
        name: t
        method: airbench94
        seeds: [10, 3]
        train_limit: 512
        set:
          trainEpochs: 2
          widths: {block1: 8}
        grid:
          order: [replacement, reshuffle]
          flip: [random, alternating]
        configuration:
          - name: plain
          - name: muon
            method: airbench94_muon
            set: {cutout: 4}
        """

    func testGridVariantsAndSeedsResolveInAFixedOrder() throws {
        let s = try SweepSpec.parse(spec)
        XCTAssertEqual(s.seeds, [10, 11, 12])
        XCTAssertEqual(s.trainLimit, 512)
        XCTAssertEqual(s.configurations.map(\.name), [
            "plain,flip=random,order=replacement", "plain,flip=random,order=reshuffle",
            "plain,flip=alternating,order=replacement", "plain,flip=alternating,order=reshuffle",
            "muon,flip=random,order=replacement", "muon,flip=random,order=reshuffle",
            "muon,flip=alternating,order=replacement", "muon,flip=alternating,order=reshuffle",
        ])
        let first = s.configurations[0].hyperparameters, muon = s.configurations[7].hyperparameters
        XCTAssertEqual(first.trainEpochs, 2)
        XCTAssertEqual(first.widths, Widths(block1: 8, block2: 256, block3: 256))  // mappings merge field by field
        XCTAssertEqual(first.flip, .random)
        XCTAssertEqual(first.order, .withReplacement)
        XCTAssertEqual(muon.filterOptimizer, .muon)  // the variant's preset under `set`
        XCTAssertEqual(muon.cutout, 4)
        XCTAssertEqual(muon.trainEpochs, 2)
        XCTAssertEqual(s.configurations.map(\.method), Array(repeating: "airbench94", count: 4) + Array(repeating: "airbench94_muon", count: 4))
        XCTAssertEqual(s.configurations[7].overridesText, "{cutout: 4, flip: alternating, order: reshuffle}")
        XCTAssertEqual(s.runs.count, 24)
        XCTAssertEqual(s.runs[0].fileName, "plain,flip=random,order=replacement__seed10.json")
        // Seed-major: seed 10 of all eight configurations, then seed 11, …
        XCTAssertEqual(s.runs[3].seed, 10)
        XCTAssertEqual(s.runs[3].configuration.name, "plain,flip=alternating,order=reshuffle")
        XCTAssertEqual(s.runs[8].seed, 11)
        XCTAssertEqual(s.runs[8].configuration.name, "plain,flip=random,order=replacement")
    }

    /// Every expanded configuration is validated when the spec is read, before any run: a hostile value in one
    /// configuration of a grid is refused naming the file, the configuration, the key and the range.
    func testEveryConfigurationIsValidatedWhenTheSpecIsRead() {
        let text = """
            name: t
            seeds: 2
            grid:
              cutout: [0, 8, -4]
            """
        XCTAssertThrowsError(try SweepSpec.parse(text, file: "hostile.yaml")) { error in
            let message = "\(error)"
            for part in ["hostile.yaml:4: ", "cutout=-4", "cutout = -4 is outside 0...32"] {
                XCTAssertTrue(message.contains(part), message)
            }
        }
        // A value that every configuration takes from `set` is refused at its line there.
        XCTAssertThrowsError(try SweepSpec.parse("name: t\nseeds: 2\nset:\n  trainEpochs: 2\n  cutout: -4\ngrid:\n  flip: [random]",
                                                 file: "hostile.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("hostile.yaml:5: configuration 'flip=random': cutout = -4 is outside 0...32"), "\($0)")
        }
    }

    func testAConfigurationMayNameItsOwnSeeds() throws {
        let s = try SweepSpec.parse("""
            name: t
            seeds: 2
            configuration:
              - name: baseline
                seeds: [5, 4]
              - name: variant
                set: {cutout: 4}
            """)
        XCTAssertEqual(s.configurations.map(\.seeds), [[5, 6, 7, 8], [0, 1]])
        XCTAssertEqual(s.runs.map { "\($0.configuration.name) \($0.seed)" },
                       ["baseline 5", "variant 0", "baseline 6", "variant 1", "baseline 7", "baseline 8"])
        XCTAssertThrowsError(try SweepSpec.parse("name: t\nseeds: 2\nconfiguration:\n  - name: a\n    seeds: 0"))
    }

    /// Every error is one line, `FILE:LINE: message`, with the line of the key or value at fault.
    func testMistakesAreNamedWithTheFileAndLine() {
        func message(_ text: String) -> String {
            do { _ = try SweepSpec.parse(text, file: "x.yaml"); return "" } catch { return "\(error)" }
        }
        for (text, expected) in [
            ("name: a\nseeds: 2\nsed: 1", "x.yaml:3: unknown key 'sed'"),
            ("seeds: 2", "x.yaml: 'name' (a string) is required"),
            ("name: a", "x.yaml: 'seeds' is required"),
            ("name: a\nseeds: -1", "x.yaml:2: 'seeds' must be"),
            ("name: a\nseeds: 2\nmethod: airbench97", "x.yaml:3: unknown method 'airbench97'"),
            ("name: a\nseeds: 2\nset:\n  trainEpochs: 2\n  momentun: 0.9", "x.yaml:5: set: no hyperparameter 'momentun'"),
            ("name: a\nseeds: 2\nset:\n  momentum: fast", "x.yaml:4: set: 'momentum'"),
            ("name: a\nseeds: 2\ngrid:\n  flip:\n    - random\n    - sideways", "x.yaml:6: configuration 'flip=sideways'"),
            ("name: a\nseeds: 2\ngrid:\n  flip: []", "x.yaml:4: grid 'flip' must be a non-empty list"),
            ("name: a\nseeds: 2\nconfiguration:\n  - name: x\n  - name: y\n    set: {cutout: 1, momentun: 3}",
             "x.yaml:6: configuration 'y': no hyperparameter 'momentun'"),
            ("name: a\nseeds: 2\nconfiguration:\n  - name: x\n  - name: y\n    colour: red", "x.yaml:6: configuration 'y': unknown key 'colour'"),
            ("name: a\nseeds: 2\nconfiguration:\n  - name: x\n  - set: {}", "x.yaml:5: configuration 2 needs a 'name'"),
            ("name: 'a\nseeds: 2", "x.yaml:1: found unexpected end of stream"),
        ] {
            let error = message(text)
            XCTAssertTrue(error.hasPrefix(expected), "\(text): \(error)")
            XCTAssertFalse(error.contains("\n"), error)
        }
        XCTAssertTrue(message("name: a\nseeds: [1, 2]   # 3 4\nset:\n  trainEpochs: 1.5 # 2").isEmpty)
    }

    /// A spec may fix its runs' precision; a sweep then runs in it, and a `--precision` that disagrees, or bf16 on a
    /// machine without it, is an error rather than a study of mixed precisions.
    func testAStudyMayFixItsPrecision() throws {
        XCTAssertNil(try SweepSpec.parse("name: a\nseeds: 2").precision)
        let fp32 = try SweepSpec.parse("name: a\nseeds: 2\nprecision: fp32")
        let bf16 = try SweepSpec.parse("name: a\nseeds: 2\nprecision: bf16")
        XCTAssertEqual(fp32.precision, .fp32)
        XCTAssertEqual(bf16.precision, .bf16)
        XCTAssertThrowsError(try SweepSpec.parse("name: a\nseeds: 2\nprecision: fp16", file: "x.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("x.yaml:3: 'precision' must be fp32 or bf16"), "\($0)")
        }
        let free = try SweepSpec.parse("name: a\nseeds: 2")
        XCTAssertNil(try free.runPrecision(requested: nil, bf16Available: true))
        XCTAssertEqual(try free.runPrecision(requested: .bf16, bf16Available: true), .bf16)
        XCTAssertEqual(try fp32.runPrecision(requested: nil, bf16Available: true), .fp32)
        XCTAssertEqual(try fp32.runPrecision(requested: .fp32, bf16Available: false), .fp32)
        XCTAssertEqual(try bf16.runPrecision(requested: nil, bf16Available: true), .bf16)
        XCTAssertThrowsError(try fp32.runPrecision(requested: .bf16, bf16Available: true)) {
            XCTAssertTrue("\($0)".contains("runs in fp32 (its spec's 'precision'), but --precision bf16"), "\($0)")
        }
        XCTAssertThrowsError(try bf16.runPrecision(requested: nil, bf16Available: false)) {
            XCTAssertTrue("\($0)".contains("AVX512_BF16"), "\($0)")
        }
    }

    /// The four shapes that made the toml++ inside TOMLKit abort the process (found by Fuzz/ sweepspec), written
    /// as the nearest YAML typos: each is a one-line error with its line.
    func testTheShapesThatAbortedTOMLAreOneLineErrors() {
        func message(_ text: String) -> String {
            do { _ = try SweepSpec.parse("name: a\nseeds: 2\n" + text, file: "x.yaml"); return "" } catch { return "\(error)" }
        }
        for (text, line) in [
            // A table header whose key does not start with a key character (toml++ issue 294), and TOML's habit.
            ("[,2,3]", 3), ("[[[a]]]", 3), ("# c\n[[ ]]", 4), ("\u{FEFF}[{", 3), ("[set]\ntrainEpochs: 2", 3),
            // An array element starting with '}'.
            ("set:\n  cutout: [}", 4), ("set:\n  cutout: [1, }", 4), ("set:\n  cutout: [\n    # c\n    }", 6),
            // A Unicode line separator (NEL, LS, PS) starting an array element: libyaml reads it as a line break.
            ("set:\n  cutout: [[\u{85}", 5), ("set:\n  cutout: [1,\u{2028}]", 4), ("set:\n  cutout: [\u{2029}}]", 5),
            // A date-like value, a space and a digit.
            ("set:\n  cutout: 3172-02-0= 4 48", 4), ("set:\n  cutout: [1, 2024-01-01 7]", 4), ("set: {cutout: 12 3}", 3),
        ] {
            let error = message(text)
            XCTAssertTrue(error.hasPrefix("x.yaml:\(line): "), "\(text.debugDescription): \(error)")
            XCTAssertFalse(error.contains("\n") || error.contains("\u{85}") || error.contains("\u{2028}"), error)
        }
        XCTAssertEqual(try SweepSpec.parse("name: \"a\\u2028b\"  # \u{85}\nseeds: 1").name, "a\u{2028}b")
    }

    /// One data set per study: the spec's `dataset`, a Table 5 preset's, or the command line's; configurations are
    /// adapted to it (SVHN: no flipping) before the spec's own settings, which still win.
    func testTheStudysDataSet() throws {
        func parse(_ text: String, dataset: DatasetSelection? = nil) throws -> SweepSpec {
            try SweepSpec.parse("name: d\nseeds: 1\n" + text, file: "d.yaml", dataset: dataset)
        }
        XCTAssertEqual(try parse("").dataset, DatasetSelection(.cifar10))
        let svhn = try parse("dataset: svhn")
        XCTAssertEqual(svhn.dataset, DatasetSelection(.svhn))
        XCTAssertEqual(svhn.configurations[0].hyperparameters.flip, .none)
        XCTAssertEqual(try parse("dataset: svhn\nset:\n  flip: random").configurations[0].hyperparameters.flip, .random)
        let coarse = try parse("dataset: {name: cifar100, labels: coarse}")
        XCTAssertEqual(coarse.dataset.classCount, 20)
        XCTAssertEqual(try parse("dataset:\n  name: svhn\n  svhn_extra: true").dataset.svhnExtra, true)
        XCTAssertEqual(try parse("method: table5-cinic10-cutout").dataset, DatasetSelection(.cinic10))
        XCTAssertEqual(try parse("", dataset: DatasetSelection(.cifar100)).dataset, DatasetSelection(.cifar100))
        XCTAssertEqual(try parse("dataset: cinic10", dataset: DatasetSelection(.cinic10, cinicValid: true)).dataset.cinicValid, true)
        func message(_ text: String, dataset: DatasetSelection? = nil) -> String {
            do { _ = try parse(text, dataset: dataset); return "" } catch { return "\(error)" }
        }
        for (text, dataset, expected) in [
            ("dataset: imagenet", nil, "d.yaml:3: unknown dataset 'imagenet'"),
            ("dataset: 3", nil, "d.yaml:3: 'dataset' must be"),
            ("dataset: {name: svhn, labels: coarse}", nil, "d.yaml:3: dataset: coarse labels exist only for cifar100"),
            ("dataset:\n  name: svhn\n  extra: true", nil, "d.yaml:5: dataset: unknown key 'extra'"),
            ("dataset:\n  name: svhn\n  svhn_extra: yes", nil, "d.yaml:5: dataset: 'svhn_extra' must be true or false"),
            ("dataset: svhn", DatasetSelection(.cifar10), "d.yaml:3: --dataset trains on cifar10 but 'dataset' on svhn"),
            ("dataset: svhn\nmethod: table5-cifar100", nil, "one data set per study"),
            ("configuration:\n  - name: a\n    method: table5-svhn\n  - name: b\n    method: table5-cifar10",
             nil, "d.yaml: method 'table5-svhn' trains on svhn but method 'table5-cifar10' on cifar10: one data set per study"),
        ] as [(String, DatasetSelection?, String)] {
            let error = message(text, dataset: dataset)
            XCTAssertTrue(error.hasPrefix(expected) || (!expected.hasPrefix("d.yaml") && error.contains(expected)), "\(text): \(error)")
        }
    }

    /// Values that look like syntax are values: a block string holding brackets and a '#', a quoted name with a
    /// comma and an equals sign, block and flow lists, comments everywhere.
    func testBlockAndFlowStylesReadAlike() throws {
        let text = """
            name: a   # [, in a comment
            description: |
              [, at the start of a line of a block string
              # not a comment
            seeds:
              - 0
              - 2
            set:
              widths:
                block1: 8
                block2: 16   # block3 keeps its default
            grid:
              flip: [
                random, "alternating"
              ]
            configuration:
              - name: "odd,name=1"
            """
        let spec = try SweepSpec.parse(text)
        XCTAssertEqual(spec.description, "[, at the start of a line of a block string\n# not a comment\n")
        XCTAssertEqual(spec.seeds, [0, 1])
        XCTAssertEqual(spec.configurations.map(\.name), ["odd,name=1,flip=random", "odd,name=1,flip=alternating"])
        XCTAssertEqual(spec.configurations[0].hyperparameters.widths, Widths(block1: 8, block2: 16, block3: 256))
    }

    /// Configurations whose names differ only in what file names replace with `_`, or in case, would share their
    /// result files: the spec is refused, naming both.
    func testResultFileNamesAreOneToOne() throws {
        func message(_ names: [String]) -> String {
            let list = names.map { "  - name: \"\($0)\"" }.joined(separator: "\n")
            do { _ = try SweepSpec.parse("name: a\nseeds: 1\nconfiguration:\n" + list, file: "x.yaml"); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(["a/b", "c", "a_b"]).hasPrefix("x.yaml: configurations 'a/b' and 'a_b' would share their result files (a_b__seed"),
                      message(["a/b", "c", "a_b"]))
        XCTAssertTrue(message(["x y", "x?y"]).contains("'x y' and 'x?y'"), message(["x y", "x?y"]))
        XCTAssertTrue(message(["Cutout", "cutout"]).contains("'Cutout' and 'cutout'"), message(["Cutout", "cutout"]))
        XCTAssertEqual(message(["a", "a"]), "x.yaml: two configurations are named 'a'")
        XCTAssertEqual(message(["a/b", "a-b", "a.b", "a=b", "a,b"]), "")
        // Crossed with a grid, the names collide point by point.
        XCTAssertThrowsError(try SweepSpec.parse("name: a\nseeds: 1\ngrid:\n  cutout: [0, 1]\nconfiguration:\n  - name: a b\n  - name: a+b")) {
            XCTAssertTrue("\($0)".hasSuffix("configurations 'a b,cutout=0' and 'a+b,cutout=0' would share their result files (a_b,cutout=0__seed….json): "
                + "file names keep letters, digits and =,._- and replace the rest with _, and may ignore case"), "\($0)")
        }
    }

    /// Seeds × configurations, each configuration with its own seeds counted, is bounded before anything is
    /// allocated for them.
    func testTheNumberOfRunsIsBounded() throws {
        func message(_ text: String) -> String {
            do { _ = try SweepSpec.parse(text, file: "x.yaml"); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(SweepSpec.maximumRuns, 1_000_000)
        XCTAssertEqual(message("name: a\nseeds: 1000000"), "")
        XCTAssertEqual(message("name: a\nseeds: [0, 600000]\nconfiguration:\n  - name: x\n  - name: y"),
                       "x.yaml: the study has 1200000 runs (configurations × their seeds); at most 1000000 are allowed")
        // 33 × 32 grid points (every value one the check accepts) × 1,000 seeds.
        let grid = "grid:\n  cutout: [\((0...32).map(String.init).joined(separator: ", "))]\n"
            + "  translate: [\((0...31).map(String.init).joined(separator: ", "))]"
        XCTAssertEqual(message("name: a\nseeds: 1000\n" + grid),
                       "x.yaml: the study has 1056000 runs (configurations × their seeds); at most 1000000 are allowed")
        // Per-configuration seeds count, each times the grid: 2 × (999,999 + 1) is over, though no seed count is.
        XCTAssertEqual(message("name: a\nseeds: 1\ngrid:\n  cutout: [0, 1]\nconfiguration:\n  - name: x\n    seeds: 999999\n  - name: y"),
                       "x.yaml: the study has 2000000 runs (configurations × their seeds); at most 1000000 are allowed")
        // 2,000 variants with a million seeds each: refused from the counts (allocated, 16 GB of seeds).
        let many = String(repeating: "  - {name: v, seeds: 1000000}\n", count: 2_000)
        XCTAssertTrue(message("name: a\nseeds: 1\nconfiguration:\n" + many).contains("the study has 2000000000 runs"))
    }

    func testTheShippedStudiesParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("studies")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertFalse(files.contains { $0.hasSuffix(".toml") }, "specs are YAML")
        let specs = files.filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(specs.count, 13)
        for file in specs {
            let s = try SweepSpec.load(from: folder.appendingPathComponent(file))
            XCTAssertFalse(s.runs.isEmpty, file)
            XCTAssertEqual(s.name, (file as NSString).deletingPathExtension, file)
        }
        let flip = try SweepSpec.load(from: folder.appendingPathComponent("flip-reduced.yaml"))
        XCTAssertEqual(flip.configurations.count, 9)
        XCTAssertGreaterThanOrEqual(flip.seeds.count, 8)
        // Result files are named by the configuration: these are the names the known-answers results on disk have.
        let known = try SweepSpec.load(from: folder.appendingPathComponent("known-answers.yaml"))
        XCTAssertEqual(known.configurations.map { "\($0.name) \($0.seeds.count)" }, [
            "airbench94 40", "order=replacement,flip=random 5", "order=replacement 5", "flip=random 5", "no-whitening 4",
            "no-dirac 4", "no-scalebias 4", "no-lookahead 4",
        ])
        XCTAssertEqual(known.runs.count, 71)
    }
}

final class ShardTests: XCTestCase {
    func testShardsPartitionTheRunsDeterministically() throws {
        let runs = Array(0..<10)
        let parts = try (0..<3).map { try Shard(index: $0, count: 3).select(runs) }
        XCTAssertEqual(parts, [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]])
        XCTAssertEqual(try Shard.parse("2/3"), try Shard(index: 2, count: 3))
        XCTAssertThrowsError(try Shard.parse("3/3"))
        XCTAssertThrowsError(try Shard.parse("1-3"))
    }

    func testSchedulerEnvironments() throws {
        XCTAssertEqual(try Shard.fromEnvironment([:], count: nil), Shard.whole)
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"], count: nil),
                       try Shard(index: 2, count: 4))
        XCTAssertEqual(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "5", "AIRBENCH_SHARDS": "8"], count: nil),
                       try Shard(index: 5, count: 8))
        // The trap: a resubmitted single index sees a count of 1. With the count given, it is right...
        let resubmitted = ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "2"]
        XCTAssertEqual(try Shard.fromEnvironment(resubmitted, count: 4), try Shard(index: 2, count: 4))
        // ...and without it, refused with a message saying what to do, never shard 0 of 1 (the whole sweep).
        XCTAssertThrowsError(try Shard.fromEnvironment(resubmitted, count: nil)) { error in
            XCTAssertTrue("\(error)".contains("--shards"), "\(error)")
        }
        XCTAssertThrowsError(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "1"], count: nil))
    }
}

/// A whole study on synthetic data: results, resumption, publishing, collection, comparison and the report.
final class SweepRunTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("airbench-sweep-\(UUID().uuidString)")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    let text = """
        name: tiny
        seeds: 3
        set:
          trainEpochs: 1
          batchSize: 64
          whiteningImages: 128
          widths: {block1: 4, block2: 8, block3: 8}
        grid:
          flip: [random, alternating]
          trainEpochs: [1, 2, 3]
        """

    func testASweepRunsOnceResumesAndSummarises() throws {
        let spec = try SweepSpec.parse(text)
        let data = Dataset(cifar10: CIFAR10(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2)))
        let halves = try (0..<2).map { try Sweep(spec: spec, folder: folder, shard: Shard(index: $0, count: 2)) }
        try halves[0].run(data: data)
        XCTAssertEqual(halves[0].pending.count, 0)
        XCTAssertEqual(halves[1].pending.count, 9)
        let whole = try Sweep(spec: spec, folder: folder, shard: .whole)
        XCTAssertEqual(whole.pending.count, 9)
        var ran = [String]()
        try whole.run(data: data) { ran.append($0) }
        XCTAssertEqual(ran.filter { $0.hasPrefix("[") }.count, 9, "only the other shard's runs ran")
        XCTAssertEqual(whole.pending.count, 0)

        let result = try SweepResult.read(from: folder.appendingPathComponent(spec.runs[0].fileName))
        XCTAssertEqual(result.seed, 0)
        XCTAssertEqual(result.predictedClasses(level: 2)?.count, 100)
        let labels = data.test.labels
        for level in 0...2 {
            let correct = zip(result.predictedClasses(level: level)!, labels).filter { $0 == $1 }.count
            XCTAssertEqual(result.accuracy[level], Double(correct) / 100, "level \(level)")
        }
        // The same seed gives the same result: the run in the sweep is `train` itself.
        let h = spec.runs[0].configuration.hyperparameters
        let again = try train(data: data, hyperparameters: h, seed: 0, evaluateEachEpoch: false)
        XCTAssertEqual(again.result.ttaValidationAccuracy, result.accuracy[h.ttaLevel])

        XCTAssertEqual(result.dataset, DatasetSelection(.cifar10))
        XCTAssertEqual(result.machine.arithmeticRevision, ArithmeticRevision.current)
        // The data given must be the study's data set.
        let other = Dataset(selection: DatasetSelection(.svhn), train: data.train, test: data.test)
        XCTAssertThrowsError(try whole.run(data: other)) { XCTAssertTrue("\($0)".contains("is on cifar10"), "\($0)") }

        let collection = try StudyResults.read(folder: folder)
        XCTAssertEqual(collection.results.count, 18)
        XCTAssertEqual(collection.summaries.count, 6)
        XCTAssertTrue(collection.summaries.allSatisfy { $0.runs == 3 && $0.cace != nil && $0.testSetStd != nil })
        let tables = try collection.writeTables(to: folder.appendingPathComponent("collected"))
        XCTAssertEqual(tables.count, 4)
        let csv = try String(contentsOf: tables[1], encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 7)
        let comparison = try Comparison(collection, collection.summaries[0].configuration,
                                        collection.summaries[1].configuration, difference: 0.01)
        XCTAssertTrue(comparison.text.contains("Welch"))
        try checkComparisonAcrossStudies(collection, comparison)
        let report = try Report(collection, title: "tiny").write(to: folder.appendingPathComponent("report"))
        XCTAssertTrue(report.map(\.lastPathComponent).contains("accuracy-vs-epochs.svg"))
        let markdown = try String(contentsOf: report.last!, encoding: .utf8)
        XCTAssertTrue(markdown.contains("Effective speed-up"), markdown)

        // A finished run of another arithmetic revision (here: one written before revisions were recorded) is found.
        XCTAssertEqual(whole.finishedAtOtherRevisions().count, 0)
        let first = folder.appendingPathComponent(spec.runs[0].fileName)
        var older = try SweepResult.read(from: first)
        older.machine.arithmeticRevision = nil
        try JSONEncoder().encode(older).write(to: first)
        XCTAssertEqual(whole.finishedAtOtherRevisions(), [nil: 1])
    }

    /// The second configuration moved into a study of its own compares as it did inside one (`compare --against`);
    /// results scored on other test labels are refused.
    func checkComparisonAcrossStudies(_ collection: StudyResults, _ within: Comparison) throws {
        let second = within.second.configuration
        let other = folder.appendingPathComponent("other")
        let encoder = JSONEncoder()
        func write(_ runs: [SweepResult], into folder: URL) throws {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for run in runs { try encoder.encode(run).write(to: folder.appendingPathComponent("\(run.configuration)__seed\(run.seed).json")) }
        }
        try write(collection.runs(of: second), into: other)
        let across = try Comparison(collection, within.first.configuration, second, in: StudyResults.read(folder: other),
                                    difference: 0.01)
        XCTAssertThrowsError(try Comparison(collection, second, second)) { XCTAssertTrue("\($0)".contains("compared with itself"), "\($0)") }
        XCTAssertNoThrow(try Comparison(collection, second, second, in: StudyResults.read(folder: other)))
        XCTAssertEqual(across.test.difference, within.test.difference)
        XCTAssertEqual(across.test.pValue, within.test.pValue)
        XCTAssertEqual(across.runsForDifference?.runs, within.runsForDifference?.runs)
        XCTAssertThrowsError(try Comparison(collection, within.first.configuration, "nothing", in: StudyResults.read(folder: other)))

        let elsewhere = folder.appendingPathComponent("elsewhere")
        try write(collection.runs(of: second).map { var run = $0; run.testLabelsSHA256 = String(repeating: "0", count: 64); return run },
                  into: elsewhere)
        XCTAssertThrowsError(try Comparison(collection, within.first.configuration, second, in: StudyResults.read(folder: elsewhere))) {
            XCTAssertTrue("\($0)".contains("different test sets"), "\($0)")
        }

        // A name with a `|` or a line break stays one cell of the report's table.
        let piped = folder.appendingPathComponent("piped")
        try write(collection.runs(of: second).map { var run = $0; run.configuration = "a|b\nc"; return run }, into: piped)
        let report = try Report(StudyResults.read(folder: piped), title: "piped").write(to: piped.appendingPathComponent("report"))
        let rows = try String(contentsOf: report.first { $0.lastPathComponent == "report.md" }!, encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("| 1 |") }
        XCTAssertEqual(rows.count, 1)
        XCTAssertTrue(rows.first?.hasPrefix(#"| 1 | a\|b c | 3 |"#) ?? false, "\(rows)")
    }

    /// hiverge's options are keys of a spec like any other, checked when it is read; a run with selective TTA keeps
    /// it in its result (accuracy and predictions, what collect reports as TTA) beside the levels' full TTA, and a
    /// run without it writes no such key, as results did before.
    func testHivergesOptionsInASpecAndSelectiveTTAInItsResults() throws {
        let spec = try SweepSpec.parse("""
            name: hiverge-tiny
            method: airbench94_hiverge
            seeds: 1
            set:
              trainEpochs: 1
              batchSize: 64
              whiteningImages: 128
              widths: {block1: 4, block2: 8, block3: 8}
            grid:
              ttaSelect: [0.25, 1]
            configuration:
              - name: hiverge
              - name: muon-like
                set: {groupActivation: gelu, brightnessJitter: 0, contrastJitter: 0, muonRenormalization: everyStep,
                      muonCoefficients: muon, muonWeightDecay: 0}
            """)
        let h = spec.configurations.map(\.hyperparameters)
        XCTAssertEqual(h.map(\.ttaSelect), [0.25, 1, 0.25, 1])
        XCTAssertEqual(h.map(\.groupActivation), [.silu, .silu, .gelu, .gelu])
        XCTAssertEqual(h[3].muonRenormalization, .everyStep)
        XCTAssertEqual(h[3].muonCoefficients, .muon)
        XCTAssertEqual(h[3].brightnessJitter, 0)
        XCTAssertEqual(h[1].muonDecayPerStep, 1.0418e-6 * 64, accuracy: 1e-12)  // follows the spec's batch of 64
        for bad in ["ttaSelect: 0", "contrastJitter: 1", "muonCoefficients: fast", "groupActivation: relu"] {
            XCTAssertThrowsError(try SweepSpec.parse("name: t\nseeds: 1\nmethod: airbench94_hiverge\nset: {\(bad)}\n")) {
                XCTAssertTrue("\($0)".contains(String(bad.prefix { $0 != ":" })), "\($0)")
            }
        }
        let data = Dataset(cifar10: CIFAR10(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 40, seed: 2)))
        try Sweep(spec: spec, folder: folder, shard: .whole).run(data: data)
        for run in spec.runs {
            let url = folder.appendingPathComponent(run.fileName)
            let result = try SweepResult.read(from: url)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            guard run.configuration.hyperparameters.ttaSelect < 1 else {
                XCTAssertNil(result.selectiveTTA)
                XCTAssertNil(json["selectiveTTA"], "no new key without selective TTA")
                XCTAssertEqual(result.ttaAccuracy, result.accuracy[2])
                continue
            }
            let selective = try XCTUnwrap(result.selectiveTTA)
            XCTAssertEqual(selective.fraction, 0.25)
            XCTAssertEqual(selective.selected, 10)
            XCTAssertEqual(result.ttaAccuracy, selective.accuracy)
            let predictions = try XCTUnwrap(result.ttaPredictedClasses)
            XCTAssertEqual(selective.accuracy, Double(zip(predictions, data.test.labels).filter { $0 == $1 }.count) / 40)
            XCTAssertEqual(result.accuracy.count, 3)  // the full TTA of every level, as before
        }
        let summaries = try StudyResults.read(folder: folder).summaries
        let selectiveRun = try SweepResult.read(from: folder.appendingPathComponent(spec.runs[0].fileName))
        XCTAssertEqual(summaries[0].tta.mean, selectiveRun.selectiveTTA?.accuracy)
    }

    func testPublishingNeverOverwritesAFinishedResult() throws {
        let spec = try SweepSpec.parse(text)
        let sweep = try Sweep(spec: spec, folder: folder, shard: .whole)
        XCTAssertTrue(try sweep.publish(["first": 1], as: "x.json"))
        XCTAssertFalse(try sweep.publish(["second": 2], as: "x.json"))
        let kept = try String(contentsOf: folder.appendingPathComponent("x.json"), encoding: .utf8)
        XCTAssertTrue(kept.contains("first"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(".partial").path), [])
    }
}
