import AirbenchData
import AirbenchKernels
import Foundation

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

    /// The views of a level with equal weights (hiverge's selective TTA: the plain mean of its 6 views at level 2).
    static func equallyWeightedViews(level: Int, mirror: Bool = true) -> [View] {
        let views = self.views(level: level, mirror: mirror)
        return views.map { View(mirror: $0.mirror, shift: $0.shift, weight: 1 / Float(views.count)) }
    }

    /// How many of `testImages` selective TTA gives the views: Python's int(fraction · n) (hiverge: 2,500 of
    /// 10,000 at 0.25); nil when every image gets them (fraction 1, the paper's TTA).
    public static func selectedCount(fraction: Double, testImages: Int) -> Int? {
        fraction < 1 ? Int(fraction * Double(testImages)) : nil
    }

    /// hiverge's choice (`airbench-hiverge.md` §5): the `count` images of `logits` (images × classes) whose top
    /// softmax probability is lowest, in ascending index order; of equally confident ones the lower index goes
    /// first (PyTorch's `topk` breaks such ties arbitrarily).
    public static func leastConfident(_ logits: [Float], classes: Int, count: Int) -> [Int] {
        let confidence = stride(from: 0, to: logits.count, by: classes).map { first in
            let row = logits[first..<first + classes].map(Double.init), top = row.max()!
            return 1 / row.reduce(0) { $0 + exp($1 - top) }  // max softmax = e^top / Σ e^l
        }
        let ranked = confidence.indices.sorted { (confidence[$0], $0) < (confidence[$1], $1) }
        return ranked.prefix(count).sorted()
    }
}

/// hiverge's selective TTA of a test set: the images it picked and the logits it reports.
public struct SelectiveTTA: Sendable, Equatable {
    /// The images given the level's views (the least confident), in ascending order.
    public var selected: [Int]
    /// Every image's logits (images × classes): the selected ones' equal-weight mean of the level's views, the
    /// others' plain view.
    public var logits: [Float]
}

extension Network {
    /// Logits (count × classes) of the network in evaluation mode on normalised NHWC images, averaged over the
    /// views of `ttaLevel` (without the mirrored views unless `mirror`).
    ///
    /// The evaluations run in batches of at most `batchSize` images in a workspace of their own, or in `workspace`
    /// (a training step's, idle between steps: no second set of buffers) in batches of at most its size; the
    /// images are split into equal batches (10,000 in a 1,024-image workspace: ten of 1,000). Which batches an
    /// image is in does not change its logits.
    public func infer(images: UnsafePointer<Float>, count: Int, ttaLevel: Int, mirror: Bool = true,
                      batchSize: Int = 500, workspace: Workspace? = nil) -> [Float] {
        precondition((0...2).contains(ttaLevel), "TTA level must be 0, 1 or 2")
        return inferLevels([ttaLevel], images: images, count: count, mirror: mirror, batchSize: batchSize,
                           workspace: workspace)[0]
    }

    /// The logits of several TTA levels at once: each view runs once and is added, with its weight, to every
    /// requested level that has it, in the order `infer` adds them, so each level equals its own `infer` bit
    /// for bit (levels 0, 1 and 2 cost the 6 views of level 2). Batches and `workspace` as in `infer`.
    public func inferLevels(_ levels: [Int], images: UnsafePointer<Float>, count: Int, mirror: Bool = true,
                            batchSize: Int = 500, workspace: Workspace? = nil) -> [[Float]] {
        precondition(levels.allSatisfy { (0...2).contains($0) }, "TTA levels must be 0, 1 or 2")
        return infer(levels.map { TTA.views(level: $0, mirror: mirror) }, allViews: TTA.views(level: levels.max() ?? 0, mirror: mirror),
                     images: images, count: count, batchSize: batchSize, workspace: workspace)
    }

    /// hiverge's selective TTA (`airbench-hiverge.md` §5) of `images` (count × pixels) whose plain-view logits are
    /// `plainLogits`: the `selecting` least confident images (`TTA.leastConfident`) get the equal-weight mean of
    /// the views of `level`, the others keep `plainLogits`. Batches and `workspace` as in `infer`.
    public func selectiveTTA(plainLogits: [Float], images: [Float], selecting: Int, level: Int, mirror: Bool = true,
                             batchSize: Int = 500, workspace: Workspace? = nil) -> SelectiveTTA {
        precondition((0...2).contains(level), "TTA level must be 0, 1 or 2")
        let selected = TTA.leastConfident(plainLogits, classes: classes, count: selecting), pixels = spec.input.pixels
        var logits = plainLogits
        guard !selected.isEmpty else { return SelectiveTTA(selected: selected, logits: logits) }
        let chosen = selected.flatMap { images[$0 * pixels..<($0 + 1) * pixels] }
        let views = TTA.equallyWeightedViews(level: level, mirror: mirror)
        // The first view is the image itself, whose logits the plain pass computed: reused, not run again (an
        // image's logits do not depend on the batch it is in, so the merged logits are the same bits).
        let plainOfChosen = selected.flatMap { plainLogits[$0 * classes..<($0 + 1) * classes] }
        let merged = chosen.withUnsafeBufferPointer {
            infer([views], allViews: views, images: $0.baseAddress!, count: selected.count, batchSize: batchSize,
                  workspace: workspace, firstViewLogits: plainOfChosen)[0]
        }
        for (k, image) in selected.enumerated() {
            logits.replaceSubrange(image * classes..<(image + 1) * classes, with: merged[k * classes..<(k + 1) * classes])
        }
        return SelectiveTTA(selected: selected, logits: logits)
    }

    /// For each list of weighted views, the logits of `images` averaged over them: each of `allViews` (which
    /// holds every list's views) runs once, in its order, and is added with its weight to every list that has it.
    /// `firstViewLogits` (count × classes), when given, are the logits of `allViews[0]`, which is the image itself,
    /// already computed: that view is not run again.
    private func infer(_ weightings: [[TTA.View]], allViews: [TTA.View], images: UnsafePointer<Float>, count: Int,
                       batchSize: Int, workspace: Workspace?, firstViewLogits: [Float]? = nil) -> [[Float]] {
        precondition(firstViewLogits == nil || (!allViews[0].mirror && allViews[0].shift == 0),
                     "the reused logits are the unshifted, unmirrored image's")
        evaluationPacks = [:]  // pack each layer's weights once for all views and batches
        defer { evaluationPacks = nil }
        let ws = workspace ?? makeWorkspace(batch: min(batchSize, count))
        let perBatch = Self.evaluationBatch(images: count, workspace: ws.batch)
        let classes = self.classes
        let weights = weightings.map { views in
            allViews.map { view in views.first { $0.sameImage(as: view) }?.weight }
        }
        var logits = [[Float]](repeating: [Float](repeating: 0, count: count * classes), count: weightings.count)
        var first = 0
        while first < count {
            let n = min(perBatch, count - first)
            for (v, view) in allViews.enumerated() {
                func add(_ viewLogits: UnsafePointer<Float>) {
                    for l in weightings.indices {
                        guard let weight = weights[l][v] else { continue }
                        for i in 0..<n * classes { logits[l][first * classes + i] += weight * viewLogits[i] }
                    }
                }
                if v == 0, let firstViewLogits {
                    firstViewLogits.withUnsafeBufferPointer { add($0.baseAddress! + first * classes) }
                } else {
                    fillView(view, from: images + first * spec.input.pixels, count: n, into: ws)
                    forward(ws, training: false, images: n)
                    add(ws.logits.pointer)
                }
            }
            first += n
        }
        return logits
    }

    /// The images per evaluation batch of `images` in a workspace of `workspace` images: as many as fit, split
    /// equally (10,000 in 1,024: 1,000 each), so that no batch runs mostly empty.
    public static func evaluationBatch(images: Int, workspace: Int) -> Int {
        let batches = (images + workspace - 1) / workspace
        return (images + batches - 1) / batches
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

    /// Fraction of `labels` predicted correctly (argmax of the TTA logits, first maximum wins); batches and
    /// `workspace` as in `infer`.
    public func evaluate(images: UnsafePointer<Float>, labels: [UInt8], ttaLevel: Int, mirror: Bool = true,
                         batchSize: Int = 500, workspace: Workspace? = nil) -> Double {
        accuracy(logits: infer(images: images, count: labels.count, ttaLevel: ttaLevel, mirror: mirror, batchSize: batchSize,
                               workspace: workspace),
                 labels: labels)
    }

    /// `inferLevels` over all the images of `images` (count × pixels).
    public func inferLevels(_ levels: [Int], _ images: [Float], mirror: Bool = true, workspace: Workspace? = nil) -> [[Float]] {
        images.withUnsafeBufferPointer {
            inferLevels(levels, images: $0.baseAddress!, count: images.count / spec.input.pixels, mirror: mirror,
                        workspace: workspace)
        }
    }

    /// Accuracy without TTA on all the images of `images` (count × pixels), in `workspace` as `infer` says.
    public func evaluate(_ images: [Float], labels: [UInt8], mirror: Bool = true, workspace: Workspace? = nil) -> Double {
        images.withUnsafeBufferPointer {
            evaluate(images: $0.baseAddress!, labels: labels, ttaLevel: 0, mirror: mirror, workspace: workspace)
        }
    }

    /// Fraction of `labels` whose argmax of `logits` (count × classes) is right.
    public func accuracy(logits: [Float], labels: [UInt8]) -> Double {
        Double(zip(predictions(logits: logits), labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// Writes `count` views into the workspace input (the forward pass runs those alone).
    private func fillView(_ view: TTA.View, from source: UnsafePointer<Float>, count: Int, into ws: Workspace) {
        let (height, width, channels) = (spec.input.height, spec.input.width, spec.input.channels)
        let input = ws.input.pointer
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
    }
}

