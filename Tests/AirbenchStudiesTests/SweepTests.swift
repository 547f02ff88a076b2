import Airbench
import AirbenchData
import AirbenchStudies
import Foundation
import XCTest

final class SweepSpecTests: XCTestCase {
    let spec = """
        name = "t"
        method = "airbench94"
        seeds = [10, 3]
        train_limit = 512
        [set]
        trainEpochs = 2
        widths = { block1 = 8 }
        [grid]
        order = ["replacement", "reshuffle"]
        flip = ["random", "alternating"]
        [[configuration]]
        name = "plain"
        [[configuration]]
        name = "muon"
        method = "airbench94_muon"
        set = { cutout = 4 }
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
        XCTAssertEqual(first.widths, Widths(block1: 8, block2: 256, block3: 256))  // objects merge field by field
        XCTAssertEqual(first.flip, .random)
        XCTAssertEqual(first.order, .withReplacement)
        XCTAssertEqual(muon.filterOptimizer, .muon)  // the variant's preset under [set]
        XCTAssertEqual(muon.cutout, 4)
        XCTAssertEqual(muon.trainEpochs, 2)
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
            name = "t"
            seeds = 2
            [grid]
            cutout = [0, 8, -4]
            """
        XCTAssertThrowsError(try SweepSpec.parse(text, file: "hostile.toml")) { error in
            let message = "\(error)"
            for part in ["hostile.toml", "cutout=-4", "cutout = -4 is outside 0...32"] {
                XCTAssertTrue(message.contains(part), message)
            }
        }
    }

    func testAConfigurationMayNameItsOwnSeeds() throws {
        let s = try SweepSpec.parse("""
            name = "t"
            seeds = 2
            [[configuration]]
            name = "baseline"
            seeds = [5, 4]
            [[configuration]]
            name = "variant"
            set = { cutout = 4 }
            """)
        XCTAssertEqual(s.configurations.map(\.seeds), [[5, 6, 7, 8], [0, 1]])
        XCTAssertEqual(s.runs.map { "\($0.configuration.name) \($0.seed)" },
                       ["baseline 5", "variant 0", "baseline 6", "variant 1", "baseline 7", "baseline 8"])
        XCTAssertThrowsError(try SweepSpec.parse("name = \"t\"\nseeds = 2\n[[configuration]]\nname = \"a\"\nseeds = 0"))
    }

    func testMistakesAreNamedWithTheFile() {
        func message(_ text: String) -> String {
            do { _ = try SweepSpec.parse(text, file: "x.toml"); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("name = \"a\"\nseeds = 2\nsed = 1").contains("unknown key 'sed'"))
        XCTAssertTrue(message("seeds = 2").contains("'name'"))
        XCTAssertTrue(message("name = \"a\"").contains("'seeds' is required"))
        XCTAssertTrue(message("name = \"a\"\nseeds = -1").contains("'seeds'"))
        XCTAssertTrue(message("name = \"a\"\nseeds = 2\nmethod = \"airbench97\"").contains("unknown method 'airbench97'"))
        XCTAssertTrue(message("name = \"a\"\nseeds = 2\n[set]\nmomentun = 0.9").contains("no hyperparameter 'momentun'"))
        XCTAssertTrue(message("name = \"a\"\nseeds = 2\n[set]\nmomentum = \"fast\"").contains("momentum"))
        XCTAssertTrue(message("name = \"a\"\nseeds = 2\n[grid]\nflip = [\"sideways\"]").contains("flip=sideways"))
        XCTAssertTrue(message("name = \"a\"\nseeds = 2\n[grid]\nflip = []").contains("non-empty"))
        let syntax = message("name = \"a\nseeds = 2")
        XCTAssertTrue(syntax.hasPrefix("x.toml: line 1"), syntax)
        // Headers that made the toml++ inside TOMLKit abort (found by Fuzz/ sweepspec; toml++ issue 294): errors now.
        for (header, line) in [("[,2,3]", 3), ("[[[a]]]", 3), ("[&", 3), ("  [ =", 3), ("# c\n[[ ]]", 4),
                               ("\u{FEFF}[{", 3), ("\u{3000}[\u{A0}=", 3)] {
            let error = message("name = \"a\"\nseeds = 2\n" + header)
            XCTAssertTrue(error.hasPrefix("x.toml: line \(line): a table header must start with a key"), "\(header): \(error)")
        }
        for (value, line) in [("[}", 3), ("[1, }", 3), ("[\n  # c\n  }", 5), ("[[1], [2,\n}]]", 4)] {
            let error = message("name = \"a\"\nseeds = 2\ncutout = " + value)
            XCTAssertTrue(error.hasPrefix("x.toml: line \(line): an array element cannot start with '}'"), "\(value): \(error)")
        }
        for (value, line) in [("[[\u{85}", 3), ("[1,\u{2028}]", 3), ("1 \u{2029}", 3)] {
            let error = message("name = \"a\"\nseeds = 2\ncutout = " + value)
            XCTAssertTrue(error.hasPrefix("x.toml: line \(line): a Unicode line separator"), "\(value): \(error)")
        }
        XCTAssertEqual(try SweepSpec.parse("name = \"a\u{2028}b\"  # \u{85}\nseeds = 1").name, "a\u{2028}b")
        for (value, line) in [("3172-02-0= 4 48", 3), ("[1, 2024-01-01 7]", 3), ("{ a = 12 3 }", 3)] {
            let error = message("name = \"a\"\nseeds = 2\ncutout = " + value)
            XCTAssertTrue(error.hasPrefix("x.toml: line \(line): a value followed by a space and a digit"), "\(value): \(error)")
        }
        XCTAssertTrue(message("name = \"a\"\nseeds = 2\n[set]\nwidths = { block1 = 8 }").isEmpty)
        XCTAssertTrue(message("name = \"a\"\nseeds = [1, 2]   # 3 4\n[set]\ntrainEpochs = 1.5 # 2").isEmpty)
    }

    /// One data set per study: the spec's `dataset`, a Table 5 preset's, or the command line's; configurations are
    /// adapted to it (SVHN: no flipping) before the spec's own settings, which still win.
    func testTheStudysDataSet() throws {
        func parse(_ text: String, dataset: DatasetSelection? = nil) throws -> SweepSpec {
            try SweepSpec.parse("name = \"d\"\nseeds = 1\n" + text, file: "d.toml", dataset: dataset)
        }
        XCTAssertEqual(try parse("").dataset, DatasetSelection(.cifar10))
        let svhn = try parse("dataset = \"svhn\"")
        XCTAssertEqual(svhn.dataset, DatasetSelection(.svhn))
        XCTAssertEqual(svhn.configurations[0].hyperparameters.flip, .none)
        XCTAssertEqual(try parse("dataset = \"svhn\"\n[set]\nflip = \"random\"").configurations[0].hyperparameters.flip, .random)
        let coarse = try parse("dataset = { name = \"cifar100\", labels = \"coarse\" }")
        XCTAssertEqual(coarse.dataset.classCount, 20)
        XCTAssertEqual(try parse("method = \"table5-cinic10-cutout\"").dataset, DatasetSelection(.cinic10))
        XCTAssertEqual(try parse("", dataset: DatasetSelection(.cifar100)).dataset, DatasetSelection(.cifar100))
        XCTAssertEqual(try parse("dataset = \"cinic10\"", dataset: DatasetSelection(.cinic10, cinicValid: true)).dataset.cinicValid, true)
        func message(_ text: String, dataset: DatasetSelection? = nil) -> String {
            do { _ = try parse(text, dataset: dataset); return "" } catch { return "\(error)" }
        }
        for (text, dataset, expected) in [
            ("dataset = \"imagenet\"", nil, "unknown dataset 'imagenet'"),
            ("dataset = 3", nil, "'dataset' must be"),
            ("dataset = { name = \"svhn\", labels = \"coarse\" }", nil, "coarse labels exist only for cifar100"),
            ("dataset = { name = \"svhn\", extra = true }", nil, "unknown key 'extra'"),
            ("dataset = \"svhn\"", DatasetSelection(.cifar10), "--dataset trains on cifar10 but 'dataset' on svhn"),
            ("dataset = \"svhn\"\nmethod = \"table5-cifar100\"", nil, "one data set per study"),
            ("[[configuration]]\nname = \"a\"\nmethod = \"table5-svhn\"\n[[configuration]]\nname = \"b\"\nmethod = \"table5-cifar10\"",
             nil, "one data set per study"),
        ] as [(String, DatasetSelection?, String)] {
            let error = message(text, dataset: dataset)
            XCTAssertTrue(error.hasPrefix("d.toml: ") && error.contains(expected), "\(text): \(error)")
        }
    }

    /// The header check follows strings, comments and brackets: brackets inside values are not headers.
    func testBracketsInsideValuesAreNotHeaders() throws {
        let text = #"""
            name = "a"   # [, in a comment
            description = """
            [, at the start of a line of a multi-line string
            """
            seeds = [
              0,
              2,
            ]
            [set]
            widths = { block1 = 8, block2 = 16, block3 = 16 }
            [ "grid" ]
            flip = [
              "random", 'alternating'
            ]
            """#
        let spec = try SweepSpec.parse(text)
        XCTAssertTrue(spec.description.hasPrefix("[, at the start"))
        XCTAssertEqual(spec.configurations.count, 2)
        XCTAssertEqual(spec.seeds, [0, 1])
    }

    func testTheShippedStudiesParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("studies")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".toml") }
        XCTAssertGreaterThanOrEqual(files.count, 8)
        for file in files {
            let s = try SweepSpec.load(from: folder.appendingPathComponent(file))
            XCTAssertFalse(s.runs.isEmpty, file)
        }
        let flip = try SweepSpec.load(from: folder.appendingPathComponent("flip-reduced.toml"))
        XCTAssertEqual(flip.configurations.count, 9)
        XCTAssertGreaterThanOrEqual(flip.seeds.count, 8)
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
        name = "tiny"
        seeds = 3
        [set]
        trainEpochs = 1
        batchSize = 64
        whiteningImages = 128
        widths = { block1 = 4, block2 = 8, block3 = 8 }
        [grid]
        flip = ["random", "alternating"]
        trainEpochs = [1, 2, 3]
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
        let report = try Report(collection, title: "tiny").write(to: folder.appendingPathComponent("report"))
        XCTAssertTrue(report.map(\.lastPathComponent).contains("accuracy-vs-epochs.svg"))
        let markdown = try String(contentsOf: report.last!, encoding: .utf8)
        XCTAssertTrue(markdown.contains("Effective speed-up"), markdown)
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
