import AirbenchKernels

/// The algorithm each pass of each convolution runs with (forward, backward-data, backward-weights). With the
/// instruction path and the precision, this is what decides the bits of a run, so the train header and the `--log`
/// JSON record it.
public struct ConvolutionPlan: Codable, Sendable, Equatable, CustomStringConvertible {
    public struct Layer: Codable, Sendable, Equatable {
        /// PyTorch module path of the convolution, e.g. "3.conv1".
        public var layer: String
        public var forward: ConvolutionAlgorithm
        public var backwardData: ConvolutionAlgorithm
        public var backwardWeights: ConvolutionAlgorithm

        /// The passes that run `algorithm`, by name.
        public func passes(running algorithm: ConvolutionAlgorithm) -> [String] {
            [("forward", forward), ("backward-data", backwardData), ("backward-weights", backwardWeights)]
                .filter { $0.1 == algorithm }.map(\.0)
        }
    }

    public var layers: [Layer]

    /// One line: the passes of each Winograd, e.g. "winograd4x4: 2.conv1, 3.conv1 backward-data; winograd:
    /// 4.conv1 forward and backward-weights; direct elsewhere" (a layer named alone runs all three passes with it),
    /// or "direct" when no pass runs a Winograd.
    public var description: String {
        let parts = ConvolutionAlgorithm.allCases.filter { $0.winogradTile != nil }.reversed().compactMap { algorithm -> String? in
            let listed = layers.compactMap { l -> String? in
                let passes = l.passes(running: algorithm)
                if passes.isEmpty { return nil }
                return passes.count == 3 ? l.layer : "\(l.layer) " + passes.joined(separator: " and ")
            }
            return listed.isEmpty ? nil : "\(algorithm.rawValue): " + listed.joined(separator: ", ")
        }
        return parts.isEmpty ? "direct" : (parts + ["direct elsewhere"]).joined(separator: "; ")
    }
}

extension Network {
    /// The plan of `convolutionAlgorithm` in the active precision. It depends on the layer shapes, not on the
    /// batch size, so training and evaluation share it.
    public var convolutionPlan: ConvolutionPlan {
        ConvolutionPlan(layers: convolutionShapes(batch: 1).map { name, shape in
            ConvolutionPlan.Layer(layer: name, forward: convolutionAlgorithm.effective(forPass: shape, .forward),
                                  backwardData: convolutionAlgorithm.effective(forPass: shape.backwardDataShape, .backwardData),
                                  backwardWeights: convolutionAlgorithm.effective(forPass: shape, .backwardWeights))
        })
    }
}

extension Hyperparameters {
    /// The convolution plan of this method's network (and of airbench96_faster's proxy) for `classes` classes
    /// under `algorithm`, in the active precision.
    public func convolutionPlans(classes: Int, algorithm: ConvolutionAlgorithm)
        throws -> (network: ConvolutionPlan, proxy: ConvolutionPlan?) {
        func plan(_ h: Hyperparameters) throws -> ConvolutionPlan {
            let network = try Network(spec: h.networkSpec(classes: classes))
            network.convolutionAlgorithm = algorithm
            return network.convolutionPlan
        }
        return (try plan(self), try proxyHyperparameters.map(plan))
    }
}
