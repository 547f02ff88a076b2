import AirbenchData
import Foundation
import XCTest

/// The data-set value the engine trains on: normalisation statistics, the four data sets of Table 5 found and
/// read through one path (folders, official folder names, archives, downloads), their variants and their errors.
/// The small files are the readers' samples, written by scripts/make_*_sample.py with numpy, SciPy and Pillow.
final class DatasetTests: XCTestCase {
    private func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "\(name) missing")
    }

    /// The samples are well-formed copies of other sizes (CIFAR-100 7 + 3 records, SVHN 5 + 3 + 2 images, CINIC-10
    /// 1 or 2 per class), read as they are.
    private func load(_ selection: DatasetSelection, _ path: URL, cache: URL? = nil) throws -> Dataset {
        try Dataset.load(selection, dataFlag: path.path, environment: [:], cacheFolder: cache ?? makeTemporaryFolder(),
                         allowDownload: false)
    }

    // MARK: - Normalisation

    func testComputedStatisticsMatchANaiveComputation() {
        let split = ImageSplit.synthetic(count: 37, seed: 5)
        let computed = Normalization.computed(from: split)
        for channel in 0..<3 {
            let values = stride(from: channel, to: split.images.count, by: 3).map { Double(split.images[$0]) / 255 }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            XCTAssertEqual(Double(computed.mean[channel]), mean, accuracy: 1e-6)
            XCTAssertEqual(Double(computed.std[channel]), variance.squareRoot(), accuracy: 1e-6)
        }
        // A one-colour split: every channel's mean is its value; without spread, channels are only centred.
        let flat = ImageSplit(images: [UInt8]((0..<2 * 1024).flatMap { _ in [51, 102, 255] }), labels: [0, 1])
        XCTAssertEqual(Normalization.computed(from: flat), Normalization(mean: [0.2, 0.4, 1.0], std: [1, 1, 1]))
    }

    /// Every data set normalises with its published statistics; its training split's own are a check on the data.
    func testPublishedStatisticsAreUsedAndTheSplitIsChecked() {
        let random = Dataset(selection: DatasetSelection(.cifar10), train: .synthetic(count: 20, seed: 1), test: .synthetic(count: 2, seed: 2))
        XCTAssertEqual(random.normalization, .cifar10)
        XCTAssertEqual(random.trainingSplitStatistics, Normalization.computed(from: random.train))
        XCTAssertFalse(random.statisticsAgree, "uniform random pixels have mean ½, far from CIFAR-10's")
        XCTAssertTrue(random.summary.contains("WARNING: the training split's own"), random.summary)
        for name in DatasetName.allCases {
            let published = name.publishedNormalization
            // A split made to have exactly the published means (to the byte) agrees on them; its deviations are
            // whatever they are, so build one from two pixel values around each mean at the published spread.
            var bytes = [UInt8]()
            for i in 0..<(2 * 1024) {
                for c in 0..<3 {
                    let value = published.mean[c] + (i % 2 == 0 ? 1 : -1) * published.std[c]
                    bytes.append(UInt8((value * 255).rounded()))
                }
            }
            let data = Dataset(selection: DatasetSelection(name), train: ImageSplit(images: bytes, labels: [0, 1]),
                               test: .synthetic(count: 1, seed: 1))
            XCTAssertEqual(data.normalization, published, "\(name)")
            XCTAssertTrue(data.statisticsAgree, "\(name): \(data.trainingSplitStatistics) vs \(published)")
            XCTAssertTrue(data.summary.contains("the training split agrees"), data.summary)
        }
    }

    func testNormalisationTablesFollowTheDataSet() {
        let other = Normalization(mean: [0.5, 0.25, 0.125], std: [0.5, 0.25, 0.2])
        let split = ImageSplit.synthetic(count: 3, seed: 9)
        let images = CifarLoader.normalizedImages(split, normalization: other)
        for (offset, byte) in split.images.enumerated() {
            let c = offset % 3
            XCTAssertEqual(images[offset].bitPattern, ((Float(byte) / 255 - other.mean[c]) / other.std[c]).bitPattern)
        }
        let loader = CifarLoader(split: split, batchSize: 3, shuffle: false, dropLast: false, seed: 0, normalization: other)
        var served = [Float]()
        loader.forEachBatch { batch, _, _ in served += batch }
        XCTAssertEqual(served, images)
    }

    // MARK: - The four data sets

    func testCIFAR100FineAndCoarseLabels() throws {
        let folder = try fixture("cifar100-sample")
        let reader = try CIFAR100.load(folder: folder)
        let fine = try load(DatasetSelection(.cifar100), folder)
        XCTAssertEqual(fine.classCount, 100)
        XCTAssertEqual(fine.train.labels, reader.train.fineLabels)
        XCTAssertEqual(fine.test.labels, reader.test.fineLabels)
        XCTAssertEqual(fine.train.images, reader.train.images)
        let coarse = try load(DatasetSelection(.cifar100, labels: .coarse), folder)
        XCTAssertEqual(coarse.classCount, 20)
        XCTAssertEqual(coarse.train.labels, reader.train.coarseLabels)
        XCTAssertNotEqual(coarse.train.labels, fine.train.labels)
        XCTAssertTrue(fine.mirrorable)
        XCTAssertEqual(fine.normalization, DatasetName.cifar100.publishedNormalization)
        XCTAssertEqual(fine.trainingSplitStatistics, Normalization.computed(from: reader.train.split(labels: .fine)))
        XCTAssertTrue(fine.summary.contains(
            "cifar100 (fine labels): 7 train images (official: 50,000), 3 test images (official: 10,000), 100 classes; "),
            fine.summary)
    }

    func testCIFAR100FromItsOfficialFolderAndArchive() throws {
        let sample = try fixture("cifar100-sample")
        let root = try makeTemporaryFolder()
        let official = root.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: official, withIntermediateDirectories: true)
        var entries = [TarTestEntry(name: "cifar-100-binary/", type: "5")]
        for name in ["train.bin", "test.bin"] {
            try FileManager.default.copyItem(at: sample.appendingPathComponent(name), to: official.appendingPathComponent(name))
            entries.append(TarTestEntry(name: "cifar-100-binary/" + name,
                                        contents: [UInt8](try Data(contentsOf: sample.appendingPathComponent(name)))))
        }
        XCTAssertEqual(try load(DatasetSelection(.cifar100), root).train.count, 7)

        // A folder holding CIFAR-10's archive and CIFAR-100's: each data set picks its own by name.
        let archives = try makeTemporaryFolder()
        try Data(storedGzip(tarArchive(entries))).write(to: archives.appendingPathComponent("cifar-100-binary.tar.gz"))
        try Data(batchArchive()).write(to: archives.appendingPathComponent("cifar-10-binary.tar.gz"))
        let cache = try makeTemporaryFolder()
        XCTAssertEqual(try load(DatasetSelection(.cifar100), archives, cache: cache).test.count, 3)
        let cifar10 = try load(DatasetSelection(.cifar10), archives, cache: cache)
        XCTAssertEqual(cifar10.train.count, 5 * testRecords)
        // With only CIFAR-10's archive there, CIFAR-100 says what it looked for instead of unpacking the other.
        try FileManager.default.removeItem(at: archives.appendingPathComponent("cifar-100-binary.tar.gz"))
        assertDataError(try load(DatasetSelection(.cifar100), archives), mentions: [archives.path, "CIFAR-100", "cifar-100-binary/"])
    }

    func testCIFAR100TruncatedFileIsNamed() throws {
        let folder = try makeTemporaryFolder()
        try FileManager.default.copyItem(at: try fixture("cifar100-sample"), to: folder.appendingPathComponent("c"))
        let train = folder.appendingPathComponent("c/train.bin")
        let bytes = try Data(contentsOf: train)
        try bytes.prefix(bytes.count - 100).write(to: train)
        assertFormatError(try load(DatasetSelection(.cifar100), folder.appendingPathComponent("c")), about: train.path,
                          mentions: ["truncated record"])
    }

    func testSVHNDigitsWithAndWithoutExtra() throws {
        let folder = try fixture("svhn-sample")
        let reader = try SVHN.load(folder: folder, includeExtra: true)
        let svhn = try load(DatasetSelection(.svhn), folder)
        XCTAssertEqual(svhn.train.labels, [0, 1, 9, 5, 0], "label 10 is the digit 0")
        XCTAssertEqual(svhn.test.labels, reader.test.labels)
        XCTAssertEqual(svhn.classCount, 10)
        XCTAssertFalse(svhn.mirrorable, "digits are not mirrored (paper Table 5)")
        XCTAssertTrue(svhn.summary.hasSuffix("no mirroring"), svhn.summary)
        let extra = try load(DatasetSelection(.svhn, svhnExtra: true), folder)
        XCTAssertEqual(extra.train.count, 7)
        XCTAssertEqual(extra.train.labels, reader.train.labels + reader.extra!.labels)
        XCTAssertEqual(Array(extra.train.images.suffix(2 * 3072)), reader.extra!.images)

        let partial = try makeTemporaryFolder()
        try FileManager.default.copyItem(at: folder.appendingPathComponent("train_32x32.mat"),
                                         to: partial.appendingPathComponent("train_32x32.mat"))
        assertFormatError(try load(DatasetSelection(.svhn), partial), about: partial.appendingPathComponent("test_32x32.mat").path,
                          mentions: ["file not found", "train_32x32.mat, test_32x32.mat"])
    }

    func testSVHNFilesAreDownloadedOneByOneAndChecked() throws {
        let train = [UInt8](try Data(contentsOf: try fixture("svhn-sample").appendingPathComponent("train_32x32.mat")))
        let server = try LocalHTTPServer(status: 200, body: train)
        defer { server.stop() }
        let cache = try makeTemporaryFolder()
        func sources(md5: String) -> [DataSetFile] {
            ["train_32x32.mat", "test_32x32.mat"].map {
                DataSetFile(name: $0, url: server.url(path: $0).absoluteString, md5: md5, images: 5)
            }
        }
        let wrong = SVHN.layout(includeExtra: false, sources: sources(md5: "0123"))
        assertDataError(try wrong.locate(dataFlag: nil, environment: [:], cacheFolder: cache, allowDownload: true, downloadTimeout: 5),
                        mentions: ["train_32x32.mat", "checksum mismatch"])
        let layout = SVHN.layout(includeExtra: false, sources: sources(md5: MD5Checksum.hexDigest(train)))
        let folder = try layout.locate(dataFlag: nil, environment: [:], cacheFolder: cache, allowDownload: true, downloadTimeout: 5)
        XCTAssertEqual(folder.path, cache.appendingPathComponent("svhn").path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["test_32x32.mat", "train_32x32.mat"])
        server.stop()
        // Found in the cache from now on, without the server.
        XCTAssertEqual(try layout.locate(dataFlag: nil, environment: [:], cacheFolder: cache, allowDownload: false).path, folder.path)
    }

    func testCINIC10TrainOrTrainAndValid() throws {
        let folder = try fixture("cinic10-sample")
        let reader = try CINIC10.load(folder: folder)
        let cinic = try load(DatasetSelection(.cinic10), folder)
        // The reader lists the classes one after another (2 images each); the data set interleaves them, so that
        // any prefix is balanced: image 1 of every class, then image 2 of every class.
        XCTAssertEqual(reader.train.labels, (0..<10).flatMap { [UInt8($0), UInt8($0)] })
        XCTAssertEqual(cinic.train.labels, (0..<10).map(UInt8.init) + (0..<10).map(UInt8.init))
        XCTAssertEqual(cinic.train.images, reader.train.subset((0..<10).map { 2 * $0 } + (0..<10).map { 2 * $0 + 1 }).images)
        XCTAssertEqual(cinic.test.images, reader.test.images)
        let both = try load(DatasetSelection(.cinic10, cinicValid: true), folder)
        XCTAssertEqual(both.train.count, 30)
        XCTAssertEqual(both.train.labels, [UInt8]((0..<3).flatMap { _ in (0..<10).map(UInt8.init) }))

        let copy = try makeTemporaryFolder().appendingPathComponent("CINIC-10")
        try FileManager.default.copyItem(at: folder, to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("valid/dog"))
        // The parent of the official folder name works too; the missing class folder is named.
        XCTAssertThrowsError(try load(DatasetSelection(.cinic10), copy.deletingLastPathComponent())) { error in
            XCTAssertTrue("\(error)".contains(copy.appendingPathComponent("valid/dog").path), "\(error)")
        }
    }

    func testInterleavingByClassKeepsEachClassInOrder() {
        let split = ImageSplit(images: (0..<7).flatMap { [UInt8](repeating: UInt8($0), count: 3072) }, labels: [2, 2, 2, 0, 5, 0, 2])
        let interleaved = split.interleavedByClass()
        XCTAssertEqual(interleaved.labels, [0, 2, 5, 0, 2, 2, 2])
        XCTAssertEqual(stride(from: 0, to: 7 * 3072, by: 3072).map { interleaved.images[$0] }, [3, 0, 4, 5, 1, 2, 6])
    }

    func testVariantsOfOtherDataSetsAreRejected() {
        assertDataError(try DatasetSelection(.svhn, labels: .coarse).validate(), mentions: ["coarse labels", "svhn"])
        assertDataError(try DatasetSelection(.cifar10, svhnExtra: true).validate(), mentions: ["extra", "cifar10"])
        assertDataError(try DatasetSelection(.cifar100, cinicValid: true).validate(), mentions: ["valid", "cifar100"])
        XCTAssertEqual(DatasetSelection(.cinic10, cinicValid: true).officialCounts.train, 180_000)
        XCTAssertEqual(DatasetSelection(.svhn, svhnExtra: true).officialCounts.train, 604_388)
    }

    func testSelectionsRoundTripThroughJSONWithDefaultsLeftOut() throws {
        let decoded = try JSONDecoder().decode(DatasetSelection.self, from: Data(#"{"name": "cifar100", "labels": "coarse"}"#.utf8))
        XCTAssertEqual(decoded, DatasetSelection(.cifar100, labels: .coarse))
        let selection = DatasetSelection(.svhn, svhnExtra: true)
        XCTAssertEqual(try JSONDecoder().decode(DatasetSelection.self, from: JSONEncoder().encode(selection)), selection)
    }
}
