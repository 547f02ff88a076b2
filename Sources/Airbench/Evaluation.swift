import AirbenchKernels

/// One augmented view of a test image: an optional left-right mirror after a translation by (dy, dx) pixels
/// with reflection padding (Listing 4 `infer`).
struct View {
    var mirror: Bool
    var shift: Int  // −1: up-and-left view padded[0:32], +1: down-and-right view padded[2:34]
    var weight: Float
}

/// Test-time augmentation (paper Section 3.5, Listing 4 `infer`).
public enum TTA {
    /// The weighted views of a level: 0 = the image; 1 = image and mirror (½ each); 2 = those two at ¼ each
    /// plus the mirrored and unmirrored one-pixel translations up-left and down-right at ⅛ each.
    static func views(level: Int) -> [View] {
        switch level {
        case 0: return [View(mirror: false, shift: 0, weight: 1)]
        case 1: return [View(mirror: false, shift: 0, weight: 0.5), View(mirror: true, shift: 0, weight: 0.5)]
        default:
            return [View(mirror: false, shift: 0, weight: 0.25), View(mirror: true, shift: 0, weight: 0.25)]
                + [-1, 1].flatMap { shift in
                    [View(mirror: false, shift: shift, weight: 0.125), View(mirror: true, shift: shift, weight: 0.125)]
                }
        }
    }
}

extension Network94 {
    /// Logits (count × 10) of the network in evaluation mode on normalised NHWC images, averaged over the
    /// views of `ttaLevel`.
    public func infer(images: UnsafePointer<Float>, count: Int, ttaLevel: Int, batchSize: Int = 500) -> [Float] {
        precondition((0...2).contains(ttaLevel), "TTA level must be 0, 1 or 2")
        evaluationPacks = [:]  // pack each layer's weights once for all views and batches
        defer { evaluationPacks = nil }
        let ws = makeWorkspace(batch: min(batchSize, count))
        var logits = [Float](repeating: 0, count: count * Self.classes)
        var first = 0
        while first < count {
            let n = min(ws.batch, count - first)
            for view in TTA.views(level: ttaLevel) {
                fillView(view, from: images + first * 3072, count: n, into: ws)
                forward(ws, training: false)
                for i in 0..<n * Self.classes { logits[first * Self.classes + i] += view.weight * ws.logits[i] }
            }
            first += n
        }
        return logits
    }

    /// Fraction of `labels` predicted correctly (argmax of the TTA logits, first maximum wins).
    public func evaluate(images: UnsafePointer<Float>, labels: [UInt8], ttaLevel: Int, batchSize: Int = 500) -> Double {
        let logits = infer(images: images, count: labels.count, ttaLevel: ttaLevel, batchSize: batchSize)
        var correct = 0
        for (i, label) in labels.enumerated() {
            var best = 0
            for k in 1..<Self.classes where logits[i * Self.classes + k] > logits[i * Self.classes + best] { best = k }
            if best == Int(label) { correct += 1 }
        }
        return Double(correct) / Double(labels.count)
    }

    /// Writes `count` views into the workspace input; images beyond `count` in the workspace are zeroed.
    private func fillView(_ view: View, from source: UnsafePointer<Float>, count: Int, into ws: Workspace) {
        func reflect(_ i: Int) -> Int { i < 0 ? -i : (i > 31 ? 62 - i : i) }
        let input = ws.input.pointer
        for n in 0..<count {
            for y in 0..<32 {
                let sy = reflect(y + view.shift)
                for x in 0..<32 {
                    let sx = reflect((view.mirror ? 31 - x : x) + view.shift)
                    let from = source + ((n * 32 + sy) * 32 + sx) * 3, to = input + ((n * 32 + y) * 32 + x) * 3
                    to[0] = from[0]; to[1] = from[1]; to[2] = from[2]
                }
            }
        }
        if count < ws.batch { (input + count * 3072).update(repeating: 0, count: (ws.batch - count) * 3072) }
    }
}
