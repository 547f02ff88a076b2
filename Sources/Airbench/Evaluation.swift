import AirbenchData
import AirbenchKernels

/// Test-time augmentation (paper Section 3.5, Listing 4 `infer`).
public enum TTA {
    /// One augmented view of a test image: an optional left-right mirror after a translation by (dy, dx) pixels
    /// with reflection padding (Listing 4 `infer`).
    struct View {
        func sameImage(as other: View) -> Bool { mirror == other.mirror && shift == other.shift }
        var mirror: Bool
        var shift: Int  // −1: up-and-left view padded[0:32], +1: down-and-right view padded[2:34] (32×32 images)
        var weight: Float
    }

    /// The weighted views of a level: 0 = the image; 1 = image and mirror (½ each); 2 = those two at ¼ each
    /// plus the mirrored and unmirrored one-pixel translations up-left and down-right at ⅛ each.
    ///
    /// Without `mirror` (data sets whose mirrored images are not of their class: SVHN's digits) the mirrored
    /// views are left out and the others' weights scaled to sum to 1: level 1 is the image alone, level 2 the
    /// image at ½ and the two translations at ¼.
    static func views(level: Int, mirror: Bool = true) -> [View] {
        guard mirror else {
            let kept = views(level: level).filter { !$0.mirror }
            let total = kept.map(\.weight).reduce(0, +)
            return kept.map { View(mirror: false, shift: $0.shift, weight: $0.weight / total) }
        }
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

extension Network {
    /// Logits (count × classes) of the network in evaluation mode on normalised NHWC images, averaged over the
    /// views of `ttaLevel` (without the mirrored views unless `mirror`).
    public func infer(images: UnsafePointer<Float>, count: Int, ttaLevel: Int, mirror: Bool = true,
                      batchSize: Int = 500) -> [Float] {
        precondition((0...2).contains(ttaLevel), "TTA level must be 0, 1 or 2")
        return inferLevels([ttaLevel], images: images, count: count, mirror: mirror, batchSize: batchSize)[0]
    }

    /// The logits of several TTA levels at once: each view runs once and is added, with its weight, to every
    /// requested level that has it, in the order `infer` adds them, so each level equals its own `infer` bit
    /// for bit (levels 0, 1 and 2 cost the 6 views of level 2).
    public func inferLevels(_ levels: [Int], images: UnsafePointer<Float>, count: Int, mirror: Bool = true,
                            batchSize: Int = 500) -> [[Float]] {
        precondition(levels.allSatisfy { (0...2).contains($0) }, "TTA levels must be 0, 1 or 2")
        evaluationPacks = [:]  // pack each layer's weights once for all views and batches
        defer { evaluationPacks = nil }
        let ws = makeWorkspace(batch: min(batchSize, count))
        let classes = self.classes
        let allViews = TTA.views(level: levels.max() ?? 0, mirror: mirror)
        let weights = levels.map { level in
            allViews.map { view in TTA.views(level: level, mirror: mirror).first { $0.sameImage(as: view) }?.weight }
        }
        var logits = [[Float]](repeating: [Float](repeating: 0, count: count * classes), count: levels.count)
        var first = 0
        while first < count {
            let n = min(ws.batch, count - first)
            for (v, view) in allViews.enumerated() {
                fillView(view, from: images + first * spec.input.pixels, count: n, into: ws)
                forward(ws, training: false)
                for l in levels.indices {
                    guard let weight = weights[l][v] else { continue }
                    for i in 0..<n * classes { logits[l][first * classes + i] += weight * ws.logits[i] }
                }
            }
            first += n
        }
        return logits
    }

    /// The predicted class of each example (argmax, first maximum wins) of count × classes logits.
    public func predictions(logits: [Float]) -> [UInt8] {
        let classes = self.classes
        return (0..<logits.count / classes).map { i in
            var best = 0
            for k in 1..<classes where logits[i * classes + k] > logits[i * classes + best] { best = k }
            return UInt8(best)
        }
    }

    /// Fraction of `labels` predicted correctly (argmax of the TTA logits, first maximum wins).
    public func evaluate(images: UnsafePointer<Float>, labels: [UInt8], ttaLevel: Int, mirror: Bool = true,
                         batchSize: Int = 500) -> Double {
        accuracy(logits: infer(images: images, count: labels.count, ttaLevel: ttaLevel, mirror: mirror, batchSize: batchSize),
                 labels: labels)
    }

    /// `inferLevels` over all the images of `images` (count × pixels).
    public func inferLevels(_ levels: [Int], _ images: [Float], mirror: Bool = true) -> [[Float]] {
        images.withUnsafeBufferPointer {
            inferLevels(levels, images: $0.baseAddress!, count: images.count / spec.input.pixels, mirror: mirror)
        }
    }

    /// Accuracy without TTA on all the images of `images` (count × pixels).
    public func evaluate(_ images: [Float], labels: [UInt8], mirror: Bool = true) -> Double {
        images.withUnsafeBufferPointer { evaluate(images: $0.baseAddress!, labels: labels, ttaLevel: 0, mirror: mirror) }
    }

    /// Fraction of `labels` whose argmax of `logits` (count × classes) is right.
    public func accuracy(logits: [Float], labels: [UInt8]) -> Double {
        Double(zip(predictions(logits: logits), labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// Writes `count` views into the workspace input; images beyond `count` in the workspace are zeroed.
    private func fillView(_ view: TTA.View, from source: UnsafePointer<Float>, count: Int, into ws: Workspace) {
        let (height, width, channels) = (spec.input.height, spec.input.width, spec.input.channels)
        let input = ws.input.pointer, pixels = spec.input.pixels
        for n in 0..<count {
            for y in 0..<height {
                let sy = reflectionPaddedIndex(y + view.shift, side: height)
                for x in 0..<width {
                    let sx = reflectionPaddedIndex((view.mirror ? width - 1 - x : x) + view.shift, side: width)
                    let from = source + ((n * height + sy) * width + sx) * channels
                    let to = input + ((n * height + y) * width + x) * channels
                    to.update(from: from, count: channels)
                }
            }
        }
        if count < ws.batch { (input + count * pixels).update(repeating: 0, count: (ws.batch - count) * pixels) }
    }
}

