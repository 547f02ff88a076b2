import AirbenchKernels

/// The algorithm each convolution's forward and backward-data passes run with (backward-weights is always the
/// direct sum over the batch). With the instruction path and the precision, this is what decides the bits of a
/// run, so the train header and the `--log` JSON record it.
public struct ConvolutionPlan: Codable, Sendable, Equatable, CustomStringConvertible {
    public struct Layer: Codable, Sendable, Equatable {
        /// PyTorch module path of the convolution, e.g. "3.conv1".
        public var layer: String
        public var forward: ConvolutionAlgorithm
        public var backwardData: ConvolutionAlgorithm
    }

    public var layers: [Layer]

    /// One line: the passes of each Winograd, e.g. "winograd4x4: 2.conv1, 3.conv1 backward-data; winograd:
    /// 4.conv1 forward; direct elsewhere" (a layer named alone runs both passes with it), or "direct" when no
    /// pass runs a Winograd.
    public var description: String {
        let parts = ConvolutionAlgorithm.allCases.filter { $0.winogradTile != nil }.reversed().compactMap { algorithm -> String? in
            let listed = layers.compactMap { l -> String? in
                switch (l.forward == algorithm, l.backwardData == algorithm) {
                case (true, true): l.layer
                case (true, false): "\(l.layer) forward"
                case (false, true): "\(l.layer) backward-data"
                case (false, false): nil
                }
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
            ConvolutionPlan.Layer(layer: name, forward: convolutionAlgorithm.effective(forPass: shape),
                                  backwardData: convolutionAlgorithm.effective(forPass: shape.backwardDataShape))
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
