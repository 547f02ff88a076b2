import Airbench
import AirbenchData
import AirbenchKernels
import XCTest

final class NetworkSpecTests: XCTestCase {
    override func tearDown() { KernelPrecision.use(.fastest) }

    func testAirbench94SpecGivesListing4Names() throws {
        let spec = NetworkSpec.airbench94(widths: Widths(block1: 8, block2: 16, block3: 12))
        let names = Network.layout(spec: spec).entries.map(\.name)
        XCTAssertEqual(names.first, "0.weight")
        XCTAssertEqual(names.last, "7.weight")
        XCTAssertTrue(names.contains("4.norm2.running_var"))
        XCTAssertFalse(names.contains { $0.contains("conv3") })
        XCTAssertEqual(Network.layout(spec: spec)["7.weight"].shape, [10, 12])
    }

    func testThreeConvGroupsAddConv3AndNorm3AndTheHeadMovesWithTheGroupCount() throws {
        let spec = NetworkSpec(name: "test", input: .cifar, groups: [.init(width: 8, convs: 3), .init(width: 16)],
                               head: .init(classes: 4, scalingFactor: 0.5))
        let layout = Network.layout(spec: spec)
        XCTAssertEqual(layout["2.conv3.weight"].shape, [8, 8, 3, 3])
        XCTAssertEqual(layout["2.norm3.bias"].role, .normBias)
        XCTAssertEqual(layout["3.conv1.weight"].shape, [16, 8, 3, 3])
        XCTAssertEqual(layout.entries.last?.name, "6.weight")  // 0 whiten, 1 GELU, 2–3 groups, 4 pool, 5 flatten
        XCTAssertEqual(layout["6.weight"].shape, [4, 16])
    }

    func testWhatTheEngineCannotRunIsRejectedWithAClearError() {
        func message(_ spec: NetworkSpec) -> String {
            do { _ = try Network(spec: spec); return "" } catch { return "\(error)" }
        }
        var afterAddWithoutResidual = NetworkSpec.airbench94()
        afterAddWithoutResidual.groups[1].activationAfterAdd = true
        XCTAssertTrue(message(afterAddWithoutResidual).contains("no residual"), message(afterAddWithoutResidual))
        var fourConvs = NetworkSpec.airbench94()
        fourConvs.groups[0].convs = 4
        XCTAssertTrue(message(fourConvs).contains("4 convs"), message(fourConvs))
        var tiny = NetworkSpec.airbench94()
        tiny.input = .init(height: 8, width: 8, channels: 3)  // 7 → 3 → 1 → 0
        XCTAssertTrue(message(tiny).contains("vanish"), message(tiny))
        XCTAssertEqual(message(.airbench94()), "")
        XCTAssertEqual(message(.airbench96()), "")
    }

    func testAirbench96HasThreeResidualGroupsOfThreeConvsAndNoExtraState() {
        let spec = NetworkSpec.airbench96(activationAfterAdd: true)
        XCTAssertTrue(spec.groups.allSatisfy { $0.convs == 3 && $0.residual && $0.activationAfterAdd })
        var plain = spec
        for i in plain.groups.indices { plain.groups[i].residual = false; plain.groups[i].activationAfterAdd = false }
        XCTAssertEqual(Network.layout(spec: spec), Network.layout(spec: plain))  // the skip has no parameters
        XCTAssertEqual(Network.layout(spec: spec)["4.conv3.weight"].shape, [512, 512, 3, 3])
        XCTAssertEqual(Network.layout(spec: spec).entries.last?.name, "7.weight")
    }

    /// The engine's backward pass over descriptions airbench94 does not use (16×16 inputs, 3-conv groups, two
    /// groups, 4 classes, residuals with the activation before or after the add) against central finite
    /// differences of the loss, for the largest gradient of every trained entry. A wrong buffer, index or a
    /// missing skip gradient moves a gradient by far more than the tolerance. The step is small (10⁻⁴) because
    /// the max-pools make the loss piecewise smooth: at 10⁻³ a step already crosses a window's maximum for some
    /// conv1 weights (the finite difference then misses by 10–40% while 10⁻⁴ agrees to 0.1%); fp32 rounding of
    /// the loss over 2·10⁻⁴ stays within the absolute 2·10⁻³.
    func checkBackwardAgainstFiniteDifferences(_ groups: [NetworkSpec.ConvGroup], trainableWhitening: Bool = false,
                                               file: StaticString = #filePath, line: UInt = #line) throws {
        KernelPrecision.use(.fp32)
        let spec = NetworkSpec(name: "test", input: .init(height: 16, width: 16, channels: 3),
                               whiteningLayer: .init(trainable: trainableWhitening), groups: groups,
                               head: .init(classes: 4, scalingFactor: 1.0 / 9))
        let network = try Network(spec: spec)
        var generator = SeededGenerator(seed: 5)
        network.initialize(using: &generator)
        var h = Hyperparameters()
        h.batchSize = 8
        let step = TrainStep(network: network, hyperparameters: h, schedule: GivenSchedule(factor: { _ in 1 }))
        for i in 0..<8 * spec.input.pixels { step.images[i] = generator.uniformFloat() * 2 - 1 }
        for i in 0..<8 { step.labelPointer[i] = Int32(i % 4) }
        _ = try step.forwardBackward(whitenBiasTrainable: true)
        let gradients = step.gradients.clone()
        let epsilon: Float = 1e-4
        var checked = 0
        for entry in network.state.layout.entries where entry.role != .frozen {
            let g = gradients.values(entry.name)
            let i = g.indices.max { abs(g[$0]) < abs(g[$1]) }!
            let p = network.state.pointer(entry) + i, original = p.pointee
            p.pointee = original + epsilon
            let plus = try step.forwardBackward(whitenBiasTrainable: true).loss
            p.pointee = original - epsilon
            let minus = try step.forwardBackward(whitenBiasTrainable: true).loss
            p.pointee = original
            let numeric = (plus - minus) / Double(2 * epsilon)
            XCTAssertEqual(Double(g[i]), numeric, accuracy: 0.02 * abs(numeric) + 2e-3,
                           "\(entry.name)[\(i)]: backward \(g[i]), finite differences \(numeric)", file: file, line: line)
            checked += 1
        }
        // The whitening bias (and weight when it trains), each conv weight and norm bias, the head.
        XCTAssertEqual(checked, 2 + (trainableWhitening ? 1 : 0) + 2 * groups.reduce(0) { $0 + $1.convs },
                       file: file, line: line)
    }

    func testBackwardMatchesFiniteDifferencesForThreeConvGroups() throws {
        try checkBackwardAgainstFiniteDifferences([.init(width: 6, convs: 3), .init(width: 8)])
    }

    func testBackwardMatchesFiniteDifferencesForResidualGroupsActivationBeforeTheAdd() throws {
        try checkBackwardAgainstFiniteDifferences([.init(width: 6, convs: 3, residual: true),
                                                   .init(width: 8, convs: 2, residual: true)])
    }

    func testBackwardMatchesFiniteDifferencesForResidualGroupsActivationAfterTheAdd() throws {
        try checkBackwardAgainstFiniteDifferences([.init(width: 6, convs: 3, residual: true, activationAfterAdd: true),
                                                   .init(width: 8, convs: 3, residual: true, activationAfterAdd: true)])
    }

    /// The paper's ablation without whitening: the first conv's filters train, their gradient through GELU.
    func testBackwardMatchesFiniteDifferencesWithATrainableFirstConv() throws {
        try checkBackwardAgainstFiniteDifferences([.init(width: 6), .init(width: 8)], trainableWhitening: true)
    }

    func testCifarNetNamingGivesAirbench94MuonKeys() {
        var h = Method.airbench94Muon.hyperparameters
        h.widths = Widths(block1: 8, block2: 16, block3: 12)
        let layout = Network.layout(spec: h.networkSpec())
        let names = layout.entries.map(\.name)
        XCTAssertEqual(names.first, "whiten.weight")
        XCTAssertEqual(names[1], "whiten.bias")
        XCTAssertEqual(names[2], "layers.1.conv1.weight")
        XCTAssertTrue(names.contains("layers.3.norm2.running_var"))
        XCTAssertEqual(names.last, "head.weight")
        XCTAssertEqual(layout["head.weight"].shape, [10, 12])
        XCTAssertEqual(h.networkSpec().head.scalingFactor, 1.0 / 12)  // ÷ the last group's width
    }
}
