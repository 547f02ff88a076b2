import Airbench
import ArgumentParser
import Foundation

struct MethodsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods",
        abstract: "List the methods of the airbench family and the paper's Table 5 presets, with hyperparameters and FLOPs.",
        discussion: """
            Without a name: one block per method (the published figures, the main hyperparameters, parameters, \
            FLOPs per run counted as the reference scripts count them on the official training and test images of \
            the data set: CIFAR-10's 50,000 and 10,000 for the methods). Then the Table 5 presets, one line each. \
            With a name: every hyperparameter of that method as JSON (the names --set takes).
            """)

    @Argument(help: ArgumentHelp("Show every hyperparameter of this method as JSON.", valueName: "method"))
    var method: String?

    func validate() throws {
        if let method, Method.named(method) == nil { throw ValidationError(unknownMethod(method)) }
    }

    func run() throws {
        if let method {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Method.named(method)!.hyperparameters), as: UTF8.self))
            return
        }
        for method in Method.all { print(describe(method)) }
        print("Table 5 presets: airbench96 on other data sets without retuning (--dataset trains any method on them):")
        for preset in Method.table5 {
            let dataset = preset.dataset!, counts = dataset.officialCounts
            let cost = RunPlan(preset.hyperparameters, trainImages: counts.train)
                .cost(testImages: counts.test, classes: dataset.classCount, mirror: dataset.name.mirrorable)
            print("  \(preset.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(preset.summary); paper \(preset.published); "
                  + String(format: "%.2f PFLOPs on %d + %d images", cost.totalFLOPs / 1e15, counts.train, counts.test))
        }
    }

    func describe(_ method: Method) -> String {
        let h = method.hyperparameters, plan = RunPlan(h, trainImages: 50_000), cost = plan.cost(), spec = h.networkSpec()
        let sgd = plan.rates
        var lines = ["\(method.name): \(method.summary)", "  published: \(method.published)"]
        let activation = h.groupActivation.name
        let group = "\(h.convsPerGroup) convs, \(activation)"
            + (h.residual ? ", residual (\(activation) \(h.activationAfterAdd ? "after" : "before") the add)" : "")
        lines.append("  network: widths \(h.widths.array.map(String.init).joined(separator: "/")), \(group), "
                     + "head × \(h.scalingFactor.map { String(format: "%.4g", $0) } ?? "1/\(h.widths.block3)"), "
                     + String(format: "%.2fM parameters", Double(spec.parameterCount) / 1e6))
        lines.append("  training: \(format(h.trainEpochs)) epochs, batch \(h.batchSize), \(cost.steps) steps"
                     + (h.proxy.map { ", trains on the \($0.keep) examples of each batch a \($0.widths.array.map(String.init).joined(separator: "/")) proxy finds hardest (proxy steps every \($0.stepInterval))" } ?? "")
                     + (h.batchesSpanEpochs ? ", batches span epochs" : ""))
        var optimizer = "  optimizer: Nesterov SGD lr \(format(h.learningRate)) momentum \(format(h.momentum)) wd \(format(h.weightDecay)) "
            + "(decoupled, per 1,024 examples; PyTorch lr \(format(sgd.weights)), BN biases \(format(sgd.normBiases)), "
            + "whitening bias \(format(sgd.whitenBias)), decay \(format(sgd.decayPerStep)) per step)"
        if h.filterOptimizer == .muon {
            optimizer += "; Muon on the filters lr \(format(h.muonLearningRate)) momentum \(format(h.muonMomentum)), "
                + "\(h.muonCoefficients.rawValue)'s Newton–Schulz coefficients, renormalised "
                + (h.muonRenormalization == .everyStep ? "every step" : "at \(plan.muonRenormalizationSteps.count) adaptive steps")
                + (h.muonWeightDecay > 0 ? ", decoupled weight decay \(format(h.muonWeightDecay)) per 1,024 examples "
                   + "(\(format(h.muonDecayPerStep)) per step)" : "")
        }
        lines.append(optimizer)
        let schedule = h.schedulePeak == 0 ? "linear from \(format(h.scheduleStart)) to \(format(h.scheduleEnd))"
            : "\(format(h.scheduleStart)) → 1 at \(format(h.schedulePeak)) of training → \(format(h.scheduleEnd))"
        lines.append("  schedule: \(schedule); "
                     + "whitening bias \(h.whitenBiasEpochs.map { "trains \(format($0)) epochs" } ?? "never frozen")"
                     + (h.whitenBiasSchedule == .linearToFreeze ? " on its own linear decay" : "")
                     + "; Lookahead \(h.lookahead ? "every \(h.lookaheadInterval) steps" : "off")")
        let jitter = h.brightnessJitter > 0 || h.contrastJitter > 0
            ? ", brightness ±\(format(h.brightnessJitter)) contrast ±\(format(h.contrastJitter))" : ""
        let selective = plan.ttaSelected(testImages: 10_000).map { " on the \($0) least confident of 10,000 (selective)" } ?? ""
        lines.append("  data: flip \(h.flip.rawValue), translate \(h.translate), cutout \(h.cutout)\(jitter), order \(h.order.rawValue); "
                     + "BatchNorm momentum \(format(h.batchNormMomentum)) (PyTorch \(format(1 - h.batchNormMomentum))); "
                     + "TTA level \(h.ttaLevel)\(selective)")
        lines.append(String(format: "  FLOPs per run: %.3f PFLOPs (forward %.3f GFLOPs/image; training %.3f, proxy %.3f, TTA %.3f)",
                            cost.totalFLOPs / 1e15, cost.forwardFLOPsPerImage / 1e9, cost.trainingFLOPs / 1e15,
                            cost.proxyFLOPs / 1e15, cost.evaluationFLOPs / 1e15))
        return lines.joined(separator: "\n") + "\n"
    }

    func format(_ x: Double) -> String { String(format: "%.6g", x) }
}
