import Foundation
import XCTest

/// The `airbench` executable as a user runs it: exit status, messages, files.
final class CommandLineTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var output: String
        var error: String
    }

    /// The executable built next to this test bundle.
    var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("airbench")
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: executable.path), "no executable at \(executable.path)")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile(), err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                       error: String(decoding: err, as: UTF8.self))
    }

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("airbench-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testHelpListsTheSubcommands() throws {
        let outcome = try run(["--help"])
        XCTAssertEqual(outcome.status, 0)
        for command in ["train", "train94", "methods", "eval", "bench"] { XCTAssertTrue(outcome.output.contains(command), command) }
        let train = try run(["train94", "--help"])
        for flag in ["--data", "--runs", "--seed", "--epochs", "--batch-size", "--widths", "--train-limit", "--tta",
                     "--threads", "--save-model", "--log"] {
            XCTAssertTrue(train.output.contains(flag), flag)
        }
    }

    func testBadFlagsFailWithAMessageNamingTheFlag() throws {
        for (arguments, flag) in [(["train94", "--tta", "5"], "--tta"), (["train94", "--widths", "64,x,256"], "--widths"),
                                  (["train94", "--threads", "0"], "--threads"), (["train94", "--flip", "sideways"], "--flip"),
                                  (["train94", "--precision", "fp16"], "--precision"),
                                  (["bench", "--precision", "int8"], "--precision"),
                                  (["train94", "--kernel-path", "avx1024"], "--kernel-path"),
                                  (["train94", "--precision", "bf16", "--kernel-path", "avx2"], "--precision bf16"),
                                  (["bench", "--precision", "bf16", "--kernel-path", "portable"], "--precision bf16"),
                                  (["train94", "--convolution", "auto-bf16-winograd"], "auto-bf16-winograd"),
                                  (["bench", "--convolution", "winograd4x4-bf16", "--kernel-path", "portable"], "winograd4x4-bf16"),
                                  (["bench", "--data", "somewhere"], "--errors"),
                                  (["bench", "--scaling", "--threads", "1"], "--threads"),
                                  (["bench", "--scaling", "--errors"], "--scaling"),
                                  (["bench", "--repeats", "\(Int.max)"], "--repeats"), (["bench", "--steps", "0"], "--steps"),
                                  (["bench", "--widths", "8192,8192,8192", "--batch-size", "65536"], "GiB of buffers"),
                                  (["train94", "--progress-interval", "-1"], "--progress-interval"),
                                  (["train", "airbench97"], "airbench97"), (["methods", "airbench97"], "airbench97"),
                                  (["train", "airbench94_muon", "--order", "random"], "--order"),
                                  (["train", "airbench96", "--whiten-bias-epochs", "soon"], "--whiten-bias-epochs"),
                                  (["eval"], "--model"),
                                  (["train94", "--save-model", FileManager.default.temporaryDirectory.path], "is a folder"),
                                  (["train94", "--save-model", "/proc/model.safetensors"], "--save-model /proc/model.safetensors: cannot create a file in /proc"),
                                  (["train94", "--log", "/no-such-folder/run.json"], "--log /no-such-folder/run.json: folder /no-such-folder does not exist")] {
            let outcome = try run(arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(flag), "\(arguments): \(outcome.error)")
        }
    }

    /// `bench --scaling`: the pairs asked for, each ratio the quotient of its pair's step times, their mean inside
    /// its interval, in JSON.
    func testBenchScalingReportsEveryPair() throws {
        let outcome = try run(["bench", "--scaling", "--threads", "2", "--repeats", "3", "--steps", "1", "--widths", "8,8,8",
                               "--batch-size", "16", "--json"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        let one = try XCTUnwrap(report["oneThreadSeconds"] as? [Double])
        let many = try XCTUnwrap(report["threadsSeconds"] as? [Double]), ratios = try XCTUnwrap(report["ratios"] as? [Double])
        XCTAssertEqual([one.count, many.count, ratios.count], [3, 3, 3])
        for i in 0..<min(3, ratios.count, one.count, many.count) {
            XCTAssertTrue(one[i] > 0 && many[i] > 0, "pair \(i)")
            XCTAssertEqual(ratios[i], one[i] / many[i], accuracy: 1e-12, "pair \(i)")
        }
        XCTAssertEqual(report["threads"] as? Int, 2)
        let mean = try XCTUnwrap(report["meanRatio"] as? Double), interval = try XCTUnwrap(report["ratioInterval95"] as? [Double])
        XCTAssertEqual(mean, ratios.reduce(0, +) / Double(ratios.count), accuracy: 1e-12)
        XCTAssertTrue(interval.count == 2 && interval[0] <= mean && mean <= interval[1], "\(interval)")
    }

    /// Values that once reached a runtime trap (exit 132) are refused with exit 1 and one line naming the key, the
    /// value and the range, before the data loads (the data path here does not exist: naming it would mean the
    /// check came too late).
    func testHostileHyperparametersAreRefusedBeforeTheDataLoads() throws {
        let missing = folder.appendingPathComponent("no-such-data").path
        for (arguments, expected) in [(["--set", "trainEpochs=1e300"], "trainEpochs = 1e+300 is outside (0, 1000]"),
                                      (["--set", "cutout=-4"], "cutout = -4 is outside 0...32"),
                                      (["--set", "translate=100000"], "translate = 100000 is outside 0...31"),
                                      (["--set", "whiteningImages=-5"], "whiteningImages = -5 is outside"),
                                      (["--set", "trainEpochs=inf"], "trainEpochs = inf is not a finite number"),
                                      (["--batch-size", "0"], "batchSize = 0 is outside 2...65536 (from --batch-size 0)"),
                                      (["--translate", "40"], "(from --translate 40)"),
                                      (["--batch-size", "65536"], "batchSize = 65536 with widths 64/256/256 needs about")] {
            let outcome = try run(["train", "airbench94", "--data", missing, "--no-warmup"] + arguments)
            XCTAssertEqual(outcome.status, 1, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(expected), "\(arguments): \(outcome.error)")
            XCTAssertFalse(outcome.error.contains(missing), "\(arguments): checked after the data: \(outcome.error)")
            XCTAssertEqual(outcome.error.split(separator: "\n").count, 1, outcome.error)
        }
    }

    func testMissingDataAndModelFilesAreNamed() throws {
        let missing = folder.appendingPathComponent("no-such-data").path
        let data = try run(["train94", "--data", missing, "--no-warmup"])
        XCTAssertEqual(data.status, 1)
        XCTAssertTrue(data.error.contains(missing), data.error)
        let model = folder.appendingPathComponent("no-such-model.safetensors").path
        let eval = try run(["eval", "--model", model, "--data", missing])
        XCTAssertEqual(eval.status, 1)
        XCTAssertTrue(eval.error.contains("no-such-model.safetensors: cannot read: no such file or directory"), eval.error)
    }

    func testTruncatedDataFileIsNamed() throws {
        let batches = folder.appendingPathComponent("cifar-10-batches-bin")
        try FileManager.default.createDirectory(at: batches, withIntermediateDirectories: true)
        for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"] {
            try Data(count: name == "data_batch_3" ? 3073 * 10 + 100 : 0).write(to: batches.appendingPathComponent(name + ".bin"))
        }
        let outcome = try run(["train94", "--data", folder.path, "--no-warmup"])
        XCTAssertEqual(outcome.status, 1)
        XCTAssertTrue(outcome.error.contains("data_batch_"), outcome.error)
    }

    /// train94 with 2 runs → model file (of the last run) and JSON log (rewritten after each run, so the second
    /// write replaces an existing file) → eval of the saved model reproduces the logged TTA accuracy.
    func testTrainSaveLogAndEvaluateRoundTrip() throws {
        guard ProcessInfo.processInfo.environment["AIRBENCH_DATA"] != nil else { throw XCTSkip("AIRBENCH_DATA not set") }
        let model = folder.appendingPathComponent("m.safetensors"), log = folder.appendingPathComponent("log.json")
        let train = try run(["train94", "--train-limit", "2048", "--batch-size", "512", "--epochs", "1",
                             "--widths", "8,16,16", "--tta", "1", "--no-warmup", "--no-epoch-eval", "--seed", "3", "--runs", "2",
                             "--progress-interval", "0", "--save-model", model.path, "--log", log.path])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("| run | epoch | train_loss | train_acc | val_acc | tta_val_acc | time_seconds |"))
        XCTAssertTrue(train.output.contains("Mean: "))
        // Standard output is a pipe: plain progress lines (every step with --progress-interval 0), no redraws.
        XCTAssertTrue(train.output.contains("progress: run 0 epoch 0 step 1/4 (1/4 in all), "), train.output)
        XCTAssertTrue(train.output.contains("progress: run 1 epoch 0 step 4/4 (4/4 in all), "), train.output)
        XCTAssertFalse(train.output.contains("\u{1B}[K"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: log)) as? [String: Any])
        XCTAssertEqual(json["version"] as? String, "0.1.0")
        // What changes the bits is recorded: the instruction path and the convolutions' precision.
        XCTAssertNotNil(json["kernelPath"] as? String)
        XCTAssertTrue(["fp32", "bf16"].contains(json["precision"] as? String ?? ""), "\(json)")
        // ... and the algorithm of each convolution's passes under the default per-layer choice.
        XCTAssertEqual(json["convolution"] as? String, "auto")
        let plan = try XCTUnwrap((json["convolutionPlan"] as? [String: Any])?["layers"] as? [[String: String]])
        XCTAssertEqual(plan.map { $0["layer"] }, ["0", "2.conv1", "2.conv2", "3.conv1", "3.conv2", "4.conv1", "4.conv2"])
        // Concrete algorithms only (never "auto"); which ones depends on the CPU's fastest precision (an AVX2-only CPU
        // trains in fp32, where `auto` picks F(6×6) for some passes).
        let algorithms = ["direct", "winograd", "winograd4x4", "winograd6x6", "winograd-bf16", "winograd4x4-bf16"]
        XCTAssertTrue(plan.allSatisfy { layer in
            ["forward", "backwardData", "backwardWeights"].allSatisfy { algorithms.contains(layer[$0] ?? "") }
        })
        XCTAssertTrue(train.output.contains("3×3 convolutions (--convolution auto): "), train.output)
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        XCTAssertEqual(results.map { $0["seed"] as? Int }, [3, 4])
        let logged = try XCTUnwrap(results[1]["ttaValidationAccuracy"] as? Double)
        XCTAssertNotNil(results[1]["timeSeconds"] as? Double)
        XCTAssertEqual((results[1]["epochs"] as? [Any])?.count, 2)
        let eval = try run(["eval", "--model", model.path, "--tta", "1"])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertTrue(eval.output.contains(String(format: "%.4f", logged)), "eval: \(eval.output) vs logged \(logged)")
    }

    /// `--kernel-path` runs the training on the path it names (portable: every CPU has it), and the header and the
    /// log say so, with the arithmetic revision.
    func testKernelPathIsChosenAndRecorded() throws {
        guard ProcessInfo.processInfo.environment["AIRBENCH_DATA"] != nil else { throw XCTSkip("AIRBENCH_DATA not set") }
        let log = folder.appendingPathComponent("log.json")
        let train = try run(["train94", "--kernel-path", "portable", "--train-limit", "1024", "--batch-size", "512",
                             "--epochs", "1", "--widths", "8,16,16", "--tta", "0", "--no-warmup", "--no-epoch-eval",
                             "--log", log.path])
        XCTAssertEqual(train.status, 0, train.error)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: log)) as? [String: Any])
        XCTAssertEqual(json["kernelPath"] as? String, "portable")
        XCTAssertEqual(json["precision"] as? String, "fp32")
        let cpu = try XCTUnwrap(json["cpu"] as? String)  // the CPU the times were measured on
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.components(separatedBy: "\n").first(where: { $0.hasPrefix("model name") }) {
            XCTAssertTrue(cpu.hasPrefix(line.components(separatedBy: ": ").dropFirst().joined(separator: ": ")), cpu)
        }
        let revision = try XCTUnwrap(json["arithmeticRevision"] as? Int)
        XCTAssertTrue(train.output.contains("airbench94: portable fp32, arithmetic revision \(revision), "), train.output)
    }

    /// CIFAR-100 in its official layout but 6,000 / 1,000 images (random pixels; fine label i mod 100, coarse i mod
    /// 20): the data line shows the counts beside the official ones, it trains with a 100-way head, the model records
    /// its data set, and `eval` finds it, normalises alike and reproduces the accuracy; variants and data sets that do
    /// not fit are refused with the reason.
    func testCIFAR100FromTheCommandLine() throws {
        let data = folder.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var state: UInt64 = 7
        for (name, records) in [("train.bin", 6_000), ("test.bin", 1_000)] {
            var bytes = [UInt8](repeating: 0, count: records * 3074)
            for record in 0..<records {
                bytes[record * 3074] = UInt8(record % 20)
                bytes[record * 3074 + 1] = UInt8(record % 100)
                for i in 2..<3074 {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    bytes[record * 3074 + i] = UInt8(truncatingIfNeeded: state >> 56)
                }
            }
            try Data(bytes).write(to: data.appendingPathComponent(name))
        }
        let model = folder.appendingPathComponent("c100.safetensors"), log = folder.appendingPathComponent("c100.json")
        let train = try run(["train", "airbench94", "--dataset", "cifar100", "--data", folder.path, "--train-limit", "1024",
                             "--batch-size", "512", "--epochs", "1", "--widths", "8,16,16", "--no-warmup", "--no-epoch-eval",
                             "--save-model", model.path, "--log", log.path])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("data: cifar100 (fine labels): 6,000 train images (official: 50,000), "
                                            + "1,000 test images (official: 10,000), 100 classes; "
                                            + "published normalisation mean/std 0.5071/0.2673"), train.output)
        XCTAssertTrue(train.output.contains("1024 training images"), train.output)
        XCTAssertTrue(train.output.contains("WARNING: the training split's own"), "random pixels are not CIFAR-100's: \(train.output)")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: log)) as? [String: Any])
        XCTAssertEqual((json["dataset"] as? [String: Any])?["name"] as? String, "cifar100")
        XCTAssertEqual((json["normalization"] as? [String: Any])?["mean"] as? [Double], [0.5071, 0.4865, 0.4409])
        XCTAssertNotNil(json["trainingSplitStatistics"] as? [String: Any])
        let logged = try XCTUnwrap((json["results"] as? [[String: Any]])?.first?["ttaValidationAccuracy"] as? Double)
        let eval = try run(["eval", "--model", model.path, "--data", folder.path])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertTrue(eval.output.contains(String(format: "%.4f", logged)) && eval.output.contains("cifar100"), eval.output)
        for (arguments, expected) in [
            (["eval", "--model", model.path, "--data", folder.path, "--dataset", "cifar10"], "contradicts the model"),
            (["eval", "--model", model.path, "--data", folder.path, "--labels", "coarse"], "has 100 outputs, but cifar100 (coarse labels) has 20 classes"),
            (["train", "airbench94", "--dataset", "svhn", "--labels", "coarse", "--no-warmup"], "coarse labels exist only for cifar100"),
            (["train", "table5-svhn", "--dataset", "cifar10", "--no-warmup"], "contradicts the preset table5-svhn"),
            (["train", "airbench94", "--dataset", "svhn", "--data", folder.path, "--no-warmup"], "train_32x32.mat"),
            (["train", "airbench94", "--dataset", "mnist"], "--dataset"),
        ] {
            let outcome = try run(arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(expected), "\(arguments): \(outcome.error)")
        }
    }

    /// `--set` reaches every hyperparameter and names what it cannot set.
    func testSetOverridesAndItsErrors() throws {
        for (assignment, expected) in [("nosuchfield=1", "no hyperparameter 'nosuchfield'"),
                                       ("momentum=fast", "momentum"), ("novalue", "name=value")] {
            let outcome = try run(["train", "airbench94", "--set", assignment, "--data", folder.path, "--no-warmup"])
            XCTAssertEqual(outcome.status, 1, assignment)
            XCTAssertTrue(outcome.error.contains(expected), "\(assignment): \(outcome.error)")
        }
    }

    /// `methods` lists every preset with its FLOPs; `methods NAME` prints every hyperparameter as JSON that
    /// `--set` names.
    func testMethodsListsThePresets() throws {
        let list = try run(["methods"])
        XCTAssertEqual(list.status, 0, list.error)
        for name in ["airbench93", "airbench94", "airbench94_hiverge", "airbench94_muon", "airbench95", "airbench96",
                     "airbench96_2024", "airbench96_faster"] {
            XCTAssertTrue(list.output.contains(name + ":"), name)
        }
        XCTAssertTrue(list.output.contains("FLOPs per run: 0.360 PFLOPs"), list.output)
        XCTAssertTrue(list.output.contains("FLOPs per run: 0.270 PFLOPs"), list.output)  // airbench94_hiverge
        XCTAssertTrue(list.output.contains("TTA level 2 on the 2500 least confident of 10,000 (selective)"), list.output)
        XCTAssertTrue(list.output.contains("table5-svhn            Table 5: airbench96 on SVHN without Cutout, no flipping; paper 97.38%"),
                      list.output)
        let muon = try run(["methods", "airbench94_muon"])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(muon.output.utf8)) as? [String: Any])
        XCTAssertEqual(json["filterOptimizer"] as? String, "muon")
        XCTAssertEqual(json["batchSize"] as? Int, 2000)
    }

    /// A method other than airbench94, with overrides and ablations: the log records the method and every
    /// resolved hyperparameter; the model records its spec, so `eval` rebuilds it and reproduces the accuracy.
    func testTrainAMethodWithOverridesLogsItAndEvalLoadsIt() throws {
        guard ProcessInfo.processInfo.environment["AIRBENCH_DATA"] != nil else { throw XCTSkip("AIRBENCH_DATA not set") }
        let model = folder.appendingPathComponent("muon.safetensors"), log = folder.appendingPathComponent("muon.json")
        let train = try run(["train", "airbench94_muon", "--train-limit", "2048", "--batch-size", "512", "--epochs", "1",
                             "--widths", "8,16,16", "--tta", "2", "--no-warmup", "--no-epoch-eval", "--no-dirac",
                             "--order", "fixed", "--set", "muonLearningRate=0.2", "--set", "residual=true",
                             "--set", "convsPerGroup=3", "--save-model", model.path, "--log", log.path])
        XCTAssertEqual(train.status, 0, train.error)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: log)) as? [String: Any])
        XCTAssertEqual(json["method"] as? String, "airbench94_muon")
        let h = try XCTUnwrap(json["hyperparameters"] as? [String: Any])
        XCTAssertEqual(h["muonLearningRate"] as? Double, 0.2)
        XCTAssertEqual(h["diracInit"] as? Bool, false)
        XCTAssertEqual(h["order"] as? String, "fixed")
        XCTAssertEqual(h["convsPerGroup"] as? Int, 3)
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        let logged = try XCTUnwrap(results[0]["ttaValidationAccuracy"] as? Double)
        let eval = try run(["eval", "--model", model.path, "--tta", "2"])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertTrue(eval.output.contains(String(format: "%.4f", logged)), "eval: \(eval.output) vs logged \(logged)")
        XCTAssertTrue(eval.output.contains("airbench94_muon"), eval.output)
    }

    /// airbench94_hiverge end to end at a tiny scale: the table's TTA is the selective one, the full TTA is
    /// printed and logged beside it, the model records the method and its selective TTA, and `eval` reproduces
    /// both from the file. Its options' mistakes name the flag.
    func testTrainHivergeReportsSelectiveAndFullTTAAndEvalReproducesThem() throws {
        for (flags, expected) in [(["--tta-select", "0"], "--tta-select 0.0"), (["--contrast", "1"], "--contrast 1.0"),
                                  (["--brightness=-1"], "--brightness -1.0"), (["--activation", "relu"], "--activation")] {
            let outcome = try run(["train", "airbench94_hiverge", "--data", folder.path, "--no-warmup"] + flags)
            XCTAssertEqual(outcome.status, flags[0] == "--activation" ? 64 : 1, "\(flags)")
            XCTAssertTrue(outcome.error.contains(expected), "\(flags): \(outcome.error)")
        }
        guard ProcessInfo.processInfo.environment["AIRBENCH_DATA"] != nil else { throw XCTSkip("AIRBENCH_DATA not set") }
        let model = folder.appendingPathComponent("hiverge.safetensors"), log = folder.appendingPathComponent("hiverge.json")
        let train = try run(["train", "airbench94_hiverge", "--train-limit", "2048", "--batch-size", "512", "--epochs", "1",
                             "--widths", "8,16,16", "--tta", "1", "--no-warmup", "--no-epoch-eval", "--save-model", model.path,
                             "--log", log.path])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("tta_val_acc is selective TTA: the 2500 least confident of 10000 test images get the level-1 views"),
                      train.output)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: log)) as? [String: Any])
        XCTAssertEqual((json["hyperparameters"] as? [String: Any])?["ttaSelect"] as? Double, 0.25)
        let result = try XCTUnwrap((json["results"] as? [[String: Any]])?.first)
        let selective = try XCTUnwrap(result["ttaValidationAccuracy"] as? Double)
        let full = try XCTUnwrap(result["fullTTAValidationAccuracy"] as? Double)
        XCTAssertTrue(train.output.contains(String(format: "Full TTA (every image, weighted views): Mean: %.4f", full)), train.output)
        let eval = try run(["eval", "--model", model.path, "--tta", "1"])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertTrue(eval.output.contains(String(format: "the 2500 least confident of 10000 get the level-1 views): %.4f in ", selective))
                      && eval.output.contains(String(format: "; full TTA level 1: %.4f in ", full)), "eval: \(eval.output) vs logged \(selective), \(full)")
        let everything = try run(["eval", "--model", model.path, "--tta", "1", "--tta-select", "1"])
        XCTAssertTrue(everything.output.contains(String(format: "test accuracy (TTA level 1): %.4f in ", full)), everything.output)
    }

    /// `bench --method` times that method's steps (Muon's optimizer, the proxy's passes) and estimates its run.
    func testBenchEstimatesAMethodsRun() throws {
        // 50,000 / 64 = 781 steps per epoch: 8 epochs for the Muon record, 45 for airbench96_faster.
        for (method, proxy, totalSteps) in [("airbench94_muon", false, 781 * 8), ("airbench96_faster", true, 781 * 45)] {
            let outcome = try run(["bench", "--method", method, "--widths", "8,16,16", "--batch-size", "64",
                                   "--repeats", "1", "--steps", "1", "--threads", "1", "--json"])
            XCTAssertEqual(outcome.status, 0, outcome.error)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
            XCTAssertEqual(json["method"] as? String, method)
            XCTAssertEqual(json["batchSize"] as? Int, proxy ? 64 / 2 : 64, method)  // the kept half trains
            // The estimate itself is RunPlan.timeEstimate (RunPlanTests); here its pieces reach the report.
            XCTAssertEqual(try XCTUnwrap(json["proxySeconds"] as? Double) > 0, proxy, method)
            XCTAssertEqual(try XCTUnwrap(json["totalSteps"] as? Int), totalSteps, method)
            for key in ["stepSeconds", "epochSeconds", "ttaEvaluationSeconds", "fullRunSeconds"] {
                XCTAssertGreaterThan(try XCTUnwrap(json[key] as? Double, "\(method) \(key)"), 0, "\(method) \(key)")
            }
            // The Muon record's whitening bias freezes after 3 epochs: those steps are timed too; airbench96_faster's
            // never freezes.
            XCTAssertEqual(json["whitenBiasSteps"] as? Int, proxy ? totalSteps : 781 * 3, method)
            XCTAssertEqual((json["frozenStepSeconds"] as? Double).map { $0 > 0 }, proxy ? nil : true, method)
        }
        // Another data set's official sizes: CINIC-10 with valid, 180,000 / 64 = 2,812 steps per epoch; a Table 5
        // preset brings its data set (SVHN: 73,257 / 64 = 1,144 steps per epoch, 40 epochs).
        for (arguments, dataset, trainImages, totalSteps) in [
            (["--method", "airbench94_muon", "--dataset", "cinic10", "--cinic-valid"], "cinic10 (train+valid)", 180_000, 2_812 * 8),
            (["--method", "table5-svhn"], "svhn", 73_257, 1_144 * 40),
        ] {
            let outcome = try run(["bench"] + arguments + ["--widths", "8,16,16", "--batch-size", "64", "--repeats", "1",
                                                           "--steps", "1", "--threads", "1", "--json"])
            XCTAssertEqual(outcome.status, 0, outcome.error)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
            XCTAssertEqual(json["dataset"] as? String, dataset)
            XCTAssertEqual(json["trainImages"] as? Int, trainImages)
            XCTAssertEqual(json["totalSteps"] as? Int, totalSteps)
        }
    }

    /// `bench --errors` trains a few steps, then reports every pass of every 3×3 layer under the seven arithmetics,
    /// each error against float64 (the measurement itself: ConvolutionAccuracy, BFloat16WinogradTests).
    func testBenchMeasuresErrors() throws {
        let outcome = try run(["bench", "--errors", "--widths", "8,16,16", "--steps", "1", "--batch-size", "2",
                               "--threads", "1", "--json"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        XCTAssertEqual(json["trainingSteps"] as? Int, 1)
        let passes = try XCTUnwrap(json["passes"] as? [[String: Any]])
        XCTAssertEqual(passes.compactMap { $0["layer"] as? String },
                       ["2.conv1", "2.conv2", "3.conv1", "3.conv2", "4.conv1", "4.conv2"].flatMap { Array(repeating: $0, count: 3) })
        for pass in passes {
            let errors = try XCTUnwrap(pass["errors"] as? [String: [String: Double]])
            XCTAssertEqual(Set(errors.keys), ["fp32 direct", "fp32 F(2×2)", "fp32 F(4×4)", "fp32 F(6×6)", "bf16 direct",
                                              "bf16 F(2×2)", "bf16 F(4×4)"])
            XCTAssertLessThan(try XCTUnwrap(errors["fp32 F(2×2)"]?["relative"]), 1e-5, "\(pass)")
            XCTAssertGreaterThan(try XCTUnwrap(errors["bf16 F(2×2)"]?["relative"]), 1e-4, "\(pass)")
        }
    }

    /// A tiny study for the sweep tests: 2 configurations × 3 seeds of a narrow airbench94 on 1,024 images.
    func writeTinySpec() throws -> URL {
        let spec = folder.appendingPathComponent("tiny.yaml")
        try """
            name: tiny
            seeds: 3
            train_limit: 1024
            set:
              trainEpochs: 2
              batchSize: 256
              whiteningImages: 512
              widths: {block1: 8, block2: 16, block3: 16}
            grid:
              flip: [random, alternating]
            """.write(to: spec, atomically: true, encoding: .utf8)
        return spec
    }

    /// SIGKILL in the middle of a run (as soon as the first result appears, the second run is training; each run
    /// takes seconds) loses only that run: the restart skips the finished runs, leaves their files untouched, and
    /// ends with every run exactly once and every file whole. The kill point is fixed, so each run of this test
    /// tests the same case.
    func testKillingASweepLosesNothingButTheRunInProgress() throws {
        guard ProcessInfo.processInfo.environment["AIRBENCH_DATA"] != nil else { throw XCTSkip("AIRBENCH_DATA not set") }
        let spec = try writeTinySpec(), out = folder.appendingPathComponent("results")
        func results() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).filter { $0.contains("__seed") }.sorted()
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["sweep", spec.path, "--out", out.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while results().isEmpty && Date() < deadline && process.isRunning { usleep(5_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        let before = results()
        XCTAssertEqual(before.count, 1, "killed in the second run")
        let contents = try before.map { try Data(contentsOf: out.appendingPathComponent($0)) }
        let resumed = try run(["sweep", spec.path, "--out", out.path])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("\(before.count) already done"), resumed.output)
        let after = results()
        XCTAssertEqual(after.count, 6)
        XCTAssertEqual(Set(after).count, 6)
        for (name, data) in zip(before, contents) {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(name)), data, "\(name) was rewritten")
        }
        for name in after {  // every result is whole
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(name))) as? [String: Any]
            XCTAssertEqual(json?["schemaVersion"] as? Int, 1, name)
        }
        let collect = try run(["collect", out.path])
        XCTAssertEqual(collect.status, 0, collect.error)
        XCTAssertTrue(collect.output.contains("flip=alternating,3,"), collect.output)
    }

    /// The study commands from the command line: dry run, collect, compare, report, and their errors.
    func testStudyCommands() throws {
        guard ProcessInfo.processInfo.environment["AIRBENCH_DATA"] != nil else { throw XCTSkip("AIRBENCH_DATA not set") }
        let spec = try writeTinySpec(), out = folder.appendingPathComponent("results")
        let dry = try run(["sweep", spec.path, "--out", out.path, "--shard", "1/2", "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.error)
        XCTAssertEqual(dry.output.split(separator: "\n").count, 3 + 1)  // three runs and the counts
        XCTAssertEqual(try run(["sweep", spec.path, "--out", out.path]).status, 0)
        let compare = try run(["compare", out.path, "flip=random", "flip=alternating", "--detect", "0.02"])
        XCTAssertEqual(compare.status, 0, compare.error)
        XCTAssertTrue(compare.output.contains("Welch t ="), compare.output)
        let across = try run(["compare", out.path, "flip=random", "flip=alternating", "--against", out.path])
        XCTAssertEqual(across.status, 0, across.error)
        XCTAssertTrue(across.output.contains("flip=alternating in \(out.path): "), across.output)
        XCTAssertEqual(across.output.split(separator: "\n").last, compare.output.split(separator: "\n")[2])
        // A spec that fixes its precision refuses a --precision that disagrees, before anything runs.
        let bf16Spec = folder.appendingPathComponent("bf16.yaml"), bf16Out = folder.appendingPathComponent("bf16")
        try String(contentsOf: spec, encoding: .utf8).replacingOccurrences(of: "seeds: 3", with: "seeds: 3\nprecision: bf16")
            .write(to: bf16Spec, atomically: true, encoding: .utf8)
        let mixed = try run(["sweep", bf16Spec.path, "--out", bf16Out.path, "--precision", "fp32"])
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertTrue(mixed.error.contains("study tiny runs in bf16 (its spec's 'precision'), but --precision fp32"), mixed.error)
        XCTAssertFalse((try? FileManager.default.contentsOfDirectory(atPath: bf16Out.path))?.contains { $0.hasSuffix(".json") } ?? false)
        let report = try run(["report", out.path])
        XCTAssertEqual(report.status, 0, report.error)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report/report.md").path))
        let none = folder.appendingPathComponent("none.yaml").path, inFile = spec.appendingPathComponent("tables").path
        let refusals: [([String], String)] = [(["compare", out.path, "flip=random", "flip=none"], "no configuration 'flip=none'"),
                                      (["compare", out.path, "flip=random", "flip=random"], "'flip=random' is compared with itself"),
                                      (["compare", out.path, "flip=random", "flip=random", "--against", out.path + "/."],
                                       "'flip=random' is compared with itself"),
                                      (["compare", out.path, "flip=random", "flip=alternating", "--detect", "inf"], "--detect"),
                                      (["sweep", none, "--out", out.path], "\(none): cannot read: no such file or directory"),
                                      (["report", out.path, "--spec", none], "\(none): cannot read: no such file or directory"),
                                      (["sweep", spec.path, "--out", out.path, "--shard", "2/2"], "--shard"),
                                      (["collect", folder.appendingPathComponent("empty").path], "empty"),
                                      (["collect", out.path, "--into", inFile], "\(inFile): cannot create the folder: not a directory"),
                                      (["report", out.path, "--into", inFile], "\(inFile): cannot create the folder: not a directory")]
        for (arguments, expected) in refusals {
            let outcome = try run(arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(expected), "\(arguments): \(outcome.error)")
        }
    }

    /// `sweep --dry-run` lists the shard's runs, each done or todo with its result file and its configuration's
    /// overrides (and preset, where a configuration has its own), then the counts; it needs no data.
    func testDryRunListsTheRunsWithTheirOverrides() throws {
        let spec = folder.appendingPathComponent("dry.yaml"), out = folder.appendingPathComponent("results")
        try """
            name: dry
            seeds: [0, 2]
            set:
              trainEpochs: 2
            grid:
              flip: [random, alternating]
            configuration:
              - name: plain
              - name: muon
                method: airbench94_muon
                set: {widths: {block1: 8}}
            """.write(to: spec, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: out.appendingPathComponent("plain,flip=alternating__seed0.json").path, contents: Data()))
        let dry = try run(["sweep", spec.path, "--out", out.path, "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.error)
        XCTAssertEqual(dry.output.split(separator: "\n"), [
            "todo  plain,flip=random__seed0.json  {flip: random}",
            "done  plain,flip=alternating__seed0.json  {flip: alternating}",
            "todo  muon,flip=random__seed0.json  {flip: random, widths: {block1: 8}}  method: airbench94_muon",
            "todo  muon,flip=alternating__seed0.json  {flip: alternating, widths: {block1: 8}}  method: airbench94_muon",
            "todo  plain,flip=random__seed1.json  {flip: random}",
            "todo  plain,flip=alternating__seed1.json  {flip: alternating}",
            "todo  muon,flip=random__seed1.json  {flip: random, widths: {block1: 8}}  method: airbench94_muon",
            "todo  muon,flip=alternating__seed1.json  {flip: alternating, widths: {block1: 8}}  method: airbench94_muon",
            "8 runs in shard 0/1 (8 in the study): 1 done, 7 to do",
        ])
        let half = try run(["sweep", spec.path, "--out", out.path, "--dry-run", "--shard", "1/2"])
        XCTAssertEqual(half.output.split(separator: "\n").last, "4 runs in shard 1/2 (8 in the study): 1 done, 3 to do")
    }

    /// `sweep --dry-run --estimate` times each configuration of the runs to do (once each, whatever its number of
    /// runs) and sums their estimates over the shard's runs to do; without --dry-run it is refused.
    func testDryRunEstimatesTheRunsToDo() throws {
        let spec = folder.appendingPathComponent("estimate.yaml"), out = folder.appendingPathComponent("results")
        try """
            name: estimate
            seeds: 2
            set: {batchSize: 64, widths: {block1: 8, block2: 16, block3: 16}}
            configuration:
              - name: short
                set: {trainEpochs: 1}
              - name: long
                set: {trainEpochs: 4}
                seeds: 3
            """.write(to: spec, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: out.appendingPathComponent("short__seed1.json").path, contents: Data()))
        let dry = try run(["sweep", spec.path, "--out", out.path, "--dry-run", "--estimate", "--threads", "1"])
        XCTAssertEqual(dry.status, 0, dry.error)
        let lines = dry.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("estimate  ") }.map { $0.components(separatedBy: " × ")[0] },
                       ["estimate  short: 1 to do", "estimate  long: 3 to do"], dry.output)
        XCTAssertTrue(lines.last?.hasPrefix("estimated time of the 4 runs to do in shard 0/1: ") == true, dry.output)
        XCTAssertTrue(lines.last?.contains("1 thread(s); cifar10 at its official sizes, 50000 training and 10000 test images") == true,
                      dry.output)
        let refused = try run(["sweep", spec.path, "--out", out.path, "--estimate"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.error.contains("--estimate goes with --dry-run"), refused.error)
    }

    /// A mistake in a spec is one line on standard error, naming the file and the line.
    func testASpecMistakeIsOneLineNamingTheLine() throws {
        let spec = folder.appendingPathComponent("typo.yaml")
        try "name: typo\nseeds: 2\nset:\n  cutout: [}\n".write(to: spec, atomically: true, encoding: .utf8)
        let outcome = try run(["sweep", spec.path, "--out", folder.appendingPathComponent("results").path, "--dry-run"])
        XCTAssertNotEqual(outcome.status, 0)
        let lines = outcome.error.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, outcome.error)
        XCTAssertTrue(outcome.error.contains("\(spec.path):4: did not find expected node content"), outcome.error)
    }

    /// scripts/slurm_test.sh: a one-node Slurm cluster runs a study as a job array with a task cancelled and
    /// resubmitted. Needs root (it installs Slurm and starts its daemons): only with AIRBENCH_SLURM_TEST=1.
    func testSweepOnARealSlurmCluster() throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["AIRBENCH_SLURM_TEST"] == "1", let data = environment["AIRBENCH_DATA"] else {
            throw XCTSkip("set AIRBENCH_SLURM_TEST=1 and AIRBENCH_DATA (needs root)")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/slurm_test.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, executable.path, data]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(output)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("PASS"), output)
    }
}
