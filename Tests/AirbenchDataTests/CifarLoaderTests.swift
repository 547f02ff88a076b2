import AirbenchData
import Foundation
import XCTest

final class CifarLoaderTests: XCTestCase {
    // MARK: - Test images and a naive reference pipeline

    /// Images whose pixels say where they came from: R = 8·column, G = 8·row, B = image index (mod 256).
    /// Mirroring, shifting and reflection are all visible in the bytes. Labels are the index (mod 256).
    private func patternSplit(count: Int) -> ImageSplit {
        var images = [UInt8](repeating: 0, count: count * 3072)
        for image in 0 ..< count {
            for y in 0 ..< 32 {
                for x in 0 ..< 32 {
                    let offset = image * 3072 + (y * 32 + x) * 3
                    images[offset] = UInt8(8 * x)
                    images[offset + 1] = UInt8(8 * y)
                    images[offset + 2] = UInt8(truncatingIfNeeded: image)
                }
            }
        }
        return ImageSplit(images: images, labels: (0 ..< count).map { UInt8(truncatingIfNeeded: $0) })
    }

    private func image(_ split: ImageSplit, _ index: Int) -> [UInt8] {
        Array(split.images[index * 3072 ..< (index + 1) * 3072])
    }

    private func mirrored(_ pixels: [UInt8], side: Int = 32) -> [UInt8] {
        var result = pixels
        for y in 0 ..< side {
            for x in 0 ..< side {
                for channel in 0 ..< 3 {
                    result[(y * side + x) * 3 + channel] = pixels[(y * side + side - 1 - x) * 3 + channel]
                }
            }
        }
        return result
    }

    /// PyTorch 'reflect' padding built the long way: each row gets the mirrored neighbours of its
    /// edge pixels (edge not repeated) on both sides, then the same for whole rows.
    private func reflectPadded(_ pixels: [UInt8], by padding: Int) -> [UInt8] {
        typealias Pixel = [UInt8]
        let rows: [[Pixel]] = (0 ..< 32).map { y in (0 ..< 32).map { x in Array(pixels[(y * 32 + x) * 3 ..< (y * 32 + x) * 3 + 3]) } }
        let wideRows = rows.map { row in Array(row[1 ... padding].reversed()) + row + Array(row[(31 - padding) ..< 31].reversed()) }
        let padded = Array(wideRows[1 ... padding].reversed()) + wideRows + Array(wideRows[(31 - padding) ..< 31].reversed())
        return padded.flatMap { $0.flatMap { $0 } }
    }

    /// Whether `output` is the 32×32 window of `padded` (side 32 + 2r) at (r + dy, r + dx).
    private func isWindow(_ output: [UInt8], of padded: [UInt8], radius: Int, dy: Int, dx: Int) -> Bool {
        let side = 32 + 2 * radius
        for y in 0 ..< 32 {
            for x in 0 ..< 32 {
                let source = ((radius + dy + y) * side + radius + dx + x) * 3
                let target = (y * 32 + x) * 3
                if output[target] != padded[source] || output[target + 1] != padded[source + 1]
                    || output[target + 2] != padded[source + 2] {
                    return false
                }
            }
        }
        return true
    }

    /// Finds how `output` was made from `original`: overall mirroring and shift. Unique for pattern images.
    private func classify(_ output: [UInt8], original: [UInt8], radius: Int) -> (flipped: Bool, dy: Int, dx: Int)? {
        for flipped in [false, true] {
            let padded = reflectPadded(flipped ? mirrored(original) : original, by: max(radius, 1))
            let offset = max(radius, 1)
            for dy in -radius ... radius {
                for dx in -radius ... radius where isWindow(output, of: padded, radius: offset, dy: dy, dx: dx) {
                    return (flipped, dy, dx)
                }
            }
        }
        return nil
    }

    /// Byte that normalises to each float, per channel, from the formula (not from the library).
    private let inverse: [[UInt32: UInt8]] = (0 ..< 3).map { channel in
        Dictionary(uniqueKeysWithValues: (0 ... 255).map { byte in
            (((Float(byte) / 255 - Normalization.cifar10.mean[channel]) / Normalization.cifar10.std[channel]).bitPattern, UInt8(byte))
        })
    }

    /// One epoch as served: each image turned back into bytes, and the labels, in serving order.
    private func epoch(_ loader: CifarLoader) -> (images: [[UInt8]], labels: [Int32]) {
        var images: [[UInt8]] = []
        var labels: [Int32] = []
        loader.forEachBatch { floats, batchLabels, count in
            for index in 0 ..< count {
                images.append((0 ..< 3072).map { inverse[$0 % 3][floats[index * 3072 + $0].bitPattern] ?? 0 })
            }
            labels += batchLabels
        }
        return (images, labels)
    }

    // MARK: - Tests

    func testNormalisationMatchesFormula() {
        let split = ImageSplit.synthetic(count: 20, seed: 1)
        let normalized = CifarLoader.normalizedImages(split)
        XCTAssertEqual(normalized.count, 20 * 3072)
        for (offset, byte) in split.images.enumerated() {
            let channel = offset % 3
            let expected = (Float(byte) / 255 - Normalization.cifar10.mean[channel]) / Normalization.cifar10.std[channel]
            XCTAssertEqual(normalized[offset].bitPattern, expected.bitPattern, "offset \(offset)")
        }
        XCTAssertEqual(Normalization.cifar10.mean, [0.4914, 0.4822, 0.4465])
        XCTAssertEqual(Normalization.cifar10.std, [0.2470, 0.2435, 0.2616])

        let loader = CifarLoader(split: split, batchSize: 8, shuffle: false, dropLast: false, seed: 0)
        var served: [Float] = []
        loader.forEachBatch { images, _, _ in served += images }
        XCTAssertEqual(served, normalized)
    }

    func testAlternatingFlipPattern() {
        let split = patternSplit(count: 200)
        let loader = CifarLoader(split: split, batchSize: 64, augmentation: Augmentation(flip: .alternating, translate: 0),
                                 shuffle: false, dropLast: false, seed: 5)
        var flipSets: [[Bool]] = []
        for _ in 0 ..< 4 {
            let served = epoch(loader).images
            flipSets.append((0 ..< 200).map { index in
                let original = image(split, index)
                XCTAssertTrue(served[index] == original || served[index] == mirrored(original), "image \(index) altered")
                return served[index] == mirrored(original)
            })
        }
        let flippedAtFirst = flipSets[0].filter { $0 }.count
        XCTAssertTrue((70 ... 130).contains(flippedAtFirst), "\(flippedAtFirst) of 200 flipped at epoch 0")
        XCTAssertEqual(flipSets[1], flipSets[0].map { !$0 }, "epoch 1 must flip exactly the others")
        XCTAssertEqual(flipSets[2], flipSets[0])
        XCTAssertEqual(flipSets[3], flipSets[1])
    }

    func testRandomFlipVariesIndependently() {
        let split = patternSplit(count: 200)
        let loader = CifarLoader(split: split, batchSize: 200, augmentation: Augmentation(flip: .random, translate: 0),
                                 shuffle: false, dropLast: false, seed: 6)
        var flipSets: [[Bool]] = []
        for _ in 0 ..< 4 {
            let served = epoch(loader).images
            flipSets.append((0 ..< 200).map { served[$0] == mirrored(image(split, $0)) })
        }
        for (epochIndex, flips) in flipSets.enumerated() {
            XCTAssertTrue((70 ... 130).contains(flips.filter { $0 }.count), "epoch \(epochIndex)")
        }
        for epochIndex in 1 ..< 4 {
            let agreements = zip(flipSets[epochIndex], flipSets[epochIndex - 1]).filter { $0 == $1 }.count
            XCTAssertTrue((60 ... 140).contains(agreements), "epochs \(epochIndex - 1) and \(epochIndex) agree on \(agreements) of 200")
        }
    }

    func testTranslationMatchesReflectPaddingAndCoversTheRange() {
        for (radius, count) in [(1, 100), (2, 300), (4, 1000)] {
            let split = patternSplit(count: count)
            let loader = CifarLoader(split: split, batchSize: 128, augmentation: Augmentation(flip: .none, translate: radius),
                                     shuffle: false, dropLast: false, seed: UInt64(radius))
            var seen = Set<[Int]>()
            for _ in 0 ..< 2 {
                let served = epoch(loader).images
                for index in 0 ..< count {
                    let original = image(split, index)
                    let padded = reflectPadded(original, by: radius)
                    let shifts = (-radius ... radius).flatMap { dy in (-radius ... radius).map { dx in [dy, dx] } }
                    guard let shift = shifts.first(where: { isWindow(served[index], of: padded, radius: radius, dy: $0[0], dx: $0[1]) }) else {
                        return XCTFail("radius \(radius): image \(index) is no shifted window of the reflect-padded image")
                    }
                    seen.insert(shift)
                }
            }
            XCTAssertEqual(seen.count, (2 * radius + 1) * (2 * radius + 1), "radius \(radius): not every shift occurred")
        }
    }

    func testAlternatingFlipAndTranslationCompose() {
        let split = patternSplit(count: 250)
        let loader = CifarLoader(split: split, batchSize: 100, augmentation: Augmentation(), shuffle: true,
                                 dropLast: false, seed: 7)
        var firstFlips = [Bool?](repeating: nil, count: 250)
        var shiftsByEpoch: [[[Int]]] = []
        for epochIndex in 0 ..< 3 {
            let (served, labels) = epoch(loader)
            var shifts = [[Int]](repeating: [], count: 250)
            for (position, label) in labels.enumerated() {
                let id = Int(label)
                guard let found = classify(served[position], original: image(split, id), radius: 2) else {
                    return XCTFail("epoch \(epochIndex): image \(id) does not match the reference pipeline")
                }
                if epochIndex == 0 { firstFlips[id] = found.flipped }
                XCTAssertEqual(found.flipped, firstFlips[id]! != (epochIndex % 2 == 1), "epoch \(epochIndex) image \(id)")
                shifts[id] = [found.dy, found.dx]
            }
            shiftsByEpoch.append(shifts)
        }
        XCTAssertNotEqual(shiftsByEpoch[0], shiftsByEpoch[1], "translations must be drawn afresh each epoch")
        XCTAssertNotEqual(shiftsByEpoch[1], shiftsByEpoch[2])
    }

    func testShuffleIsAPermutationThatChangesEachEpoch() {
        let split = patternSplit(count: 250)
        let loader = CifarLoader(split: split, batchSize: 32, shuffle: true, dropLast: false, seed: 8)
        let first = epoch(loader)
        let second = epoch(loader)
        XCTAssertEqual(first.labels.sorted(), (0 ..< 250).map { Int32($0) })
        XCTAssertEqual(second.labels.sorted(), (0 ..< 250).map { Int32($0) })
        XCTAssertNotEqual(first.labels, second.labels)
        XCTAssertNotEqual(first.labels, (0 ..< 250).map { Int32($0) })
        for (position, label) in first.labels.enumerated() {
            XCTAssertEqual(first.images[position], image(split, Int(label)), "image and label separated")
        }
    }

    func testNoShuffleServesInOrder() {
        let split = patternSplit(count: 100)
        let loader = CifarLoader(split: split, batchSize: 32, shuffle: false, dropLast: false, seed: 9)
        for _ in 0 ..< 2 {
            let served = epoch(loader)
            XCTAssertEqual(served.labels, (0 ..< 100).map { Int32($0) })
            XCTAssertEqual(served.images, (0 ..< 100).map { image(split, $0) })
        }
    }

    func testBatchCountsAndShortLastBatch() {
        let split = ImageSplit.synthetic(count: 250, seed: 2)
        let dropping = CifarLoader(split: split, batchSize: 64, shuffle: true, dropLast: true, seed: 1)
        XCTAssertEqual(dropping.batchCount, 3)
        var sizes: [Int] = []
        dropping.forEachBatch { images, labels, count in
            XCTAssertEqual(images.count, count * 3072)
            XCTAssertEqual(labels.count, count)
            sizes.append(count)
        }
        XCTAssertEqual(sizes, [64, 64, 64])

        let keeping = CifarLoader(split: split, batchSize: 64, shuffle: false, dropLast: false, seed: 1)
        XCTAssertEqual(keeping.batchCount, 4)
        sizes = []
        keeping.forEachBatch { _, _, count in sizes.append(count) }
        XCTAssertEqual(sizes, [64, 64, 64, 58])
        var images = [Float](repeating: .nan, count: 64 * 3072)
        var labels = [Int32](repeating: -1, count: 64)
        XCTAssertEqual(keeping.fillBatch(3, images: &images, labels: &labels), 58)
        XCTAssertEqual(labels[57], Int32(split.labels[249]))
        XCTAssertEqual(labels[58], -1, "wrote past the short batch")
        XCTAssertTrue(images[58 * 3072].isNaN, "wrote past the short batch")

        let exact = CifarLoader(split: ImageSplit.synthetic(count: 256, seed: 2), batchSize: 64, shuffle: false, dropLast: false, seed: 1)
        XCTAssertEqual(exact.batchCount, 4)
        XCTAssertEqual(CifarLoader(split: split, batchSize: 300, shuffle: false, dropLast: true, seed: 1).batchCount, 0)
    }

    func testEpochCounter() {
        let loader = CifarLoader(split: ImageSplit.synthetic(count: 10, seed: 1), batchSize: 4, shuffle: true, dropLast: false, seed: 1)
        XCTAssertEqual(loader.epoch, 0)
        loader.forEachBatch { _, _, _ in }
        XCTAssertEqual(loader.epoch, 1)
        loader.startEpoch()
        XCTAssertEqual(loader.epoch, 2)
    }

    func testSameSeedSameBatchesDifferentSeedDifferent() {
        let split = ImageSplit.synthetic(count: 300, seed: 3)
        func run(seed: UInt64) -> [Float] {
            let loader = CifarLoader(split: split, batchSize: 128, augmentation: Augmentation(flip: .alternating, translate: 2, cutout: 4),
                                     shuffle: true, dropLast: false, seed: seed)
            var all: [Float] = []
            for _ in 0 ..< 3 { loader.forEachBatch { images, _, _ in all += images } }
            return all
        }
        let first = run(seed: 42)
        XCTAssertEqual(first.map(\.bitPattern), run(seed: 42).map(\.bitPattern))
        XCTAssertNotEqual(first, run(seed: 43))
    }

    func testCutoutSquareSizeAndBounds() {
        let split = ImageSplit.synthetic(count: 400, seed: 4)
        let normalized = CifarLoader.normalizedImages(split)
        let side = 8
        let loader = CifarLoader(split: split, batchSize: 400, augmentation: Augmentation(flip: .none, translate: 0, cutout: side),
                                 shuffle: false, dropLast: false, seed: 10)
        var tops = Set<Int>()
        var lefts = Set<Int>()
        loader.forEachBatch { images, _, count in
            for index in 0 ..< count {
                let zeros = (0 ..< 1024).filter { pixel in (0 ..< 3).allSatisfy { images[index * 3072 + pixel * 3 + $0] == 0 } }
                guard let first = zeros.first else { return XCTFail("image \(index) has no cutout") }
                let top = first / 32
                let left = first % 32
                XCTAssertTrue(top + side <= 32 && left + side <= 32, "square at (\(top), \(left)) leaves the image")
                let square = (top ..< top + side).flatMap { y in (left ..< left + side).map { y * 32 + $0 } }
                XCTAssertEqual(zeros, square, "image \(index): zeroed pixels are not an \(side)×\(side) square")
                for offset in 0 ..< 3072 where !square.contains(offset / 3) {
                    if images[index * 3072 + offset] != normalized[index * 3072 + offset] {
                        return XCTFail("image \(index) changed outside the cutout")
                    }
                }
                tops.insert(top)
                lefts.insert(left)
            }
        }
        XCTAssertTrue(tops.contains(0) && tops.contains(32 - side), "tops seen: \(tops.sorted())")
        XCTAssertTrue(lefts.contains(0) && lefts.contains(32 - side), "lefts seen: \(lefts.sorted())")
    }
}
