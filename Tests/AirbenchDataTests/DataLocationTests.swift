import AirbenchData
import Foundation
import XCTest

final class DataLocationTests: XCTestCase {
    /// A closed port on this machine: connecting fails at once, as it does with no network.
    private let unreachable = URL(string: "http://127.0.0.1:9/cifar-10-binary.tar.gz")!

    /// CIFAR-10's layout with small files, an explicit environment (never the caller's) and no real download.
    private func locate(
        _ flag: String?, environment: [String: String] = [:], cache: URL, allowDownload: Bool = false,
        downloadURL: URL? = nil, downloadMD5: String = CIFAR10.officialArchive.md5
    ) throws -> URL {
        let url = downloadURL ?? unreachable
        let download = DataSetFile(name: url.lastPathComponent, url: url.absoluteString, md5: downloadMD5, images: 60_000)
        return try CIFAR10.layout(download: download).locate(
            dataFlag: flag, environment: environment, cacheFolder: cache, allowDownload: allowDownload, downloadTimeout: 5)
    }

    func testFolderOfBatchFiles() throws {
        let root = try makeTemporaryFolder()
        let data = root.appendingPathComponent("bins")
        try writeBatchFiles(into: data)
        let cache = root.appendingPathComponent("cache")
        XCTAssertEqual(try locate(data.path, cache: cache).path, data.path)
        // The same folder through AIRBENCH_DATA.
        XCTAssertEqual(try locate(nil, environment: ["AIRBENCH_DATA": data.path], cache: cache).path, data.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.path), "a plain folder needs no cache")
    }

    /// A folder of symbolic links to the batch files (as a shared copy is often used) is a folder of the files.
    func testFolderOfLinksToBatchFiles() throws {
        let root = try makeTemporaryFolder()
        let data = root.appendingPathComponent("bins")
        try writeBatchFiles(into: data, records: 3)
        let links = root.appendingPathComponent("links")
        try FileManager.default.createDirectory(at: links, withIntermediateDirectories: true)
        for name in CIFAR10.batchFileNames {
            try FileManager.default.createSymbolicLink(at: links.appendingPathComponent(name), withDestinationURL: data.appendingPathComponent(name))
        }
        XCTAssertEqual(try locate(links.path, cache: root.appendingPathComponent("cache")).path, links.path)
        XCTAssertEqual(try CIFAR10.load(folder: links).train.count, 15)
    }

    func testFolderHoldingBatchFolder() throws {
        let root = try makeTemporaryFolder()
        let nested = root.appendingPathComponent("data").appendingPathComponent("cifar-10-batches-bin")
        try writeBatchFiles(into: nested)
        let found = try locate(root.appendingPathComponent("data").path, cache: root.appendingPathComponent("cache"))
        XCTAssertEqual(found.path, nested.path)
        XCTAssertEqual(try CIFAR10.load(folder: found).train.count, 5 * testRecords)
    }

    func testArchiveIsExtractedOnceIntoTheCache() throws {
        let root = try makeTemporaryFolder()
        let archive = root.appendingPathComponent("cifar-small.tar.gz")
        let bytes = batchArchive()
        try Data(bytes).write(to: archive)
        let cache = root.appendingPathComponent("cache")

        let found = try locate(archive.path, cache: cache)
        XCTAssertEqual(found.path, cache.path + "/extracted/cifar-small.tar.gz-\(bytes.count)/cifar-10-batches-bin")
        let first = try CIFAR10.load(folder: found)
        XCTAssertEqual(first.train.count, 5 * testRecords)
        XCTAssertEqual(first.test.labels, (0 ..< testRecords).map { UInt8($0 % 10) })

        // Mark the extracted copy: a second extraction would overwrite the mark.
        let marked = found.appendingPathComponent("test_batch.bin")
        var contents = try Data(contentsOf: marked)
        contents[0] = 9
        try contents.write(to: marked)
        let again = try locate(archive.path, cache: cache)
        XCTAssertEqual(again.path, found.path)
        XCTAssertEqual(try CIFAR10.load(folder: again).test.labels[0], 9, "archive was extracted again")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("extracted").path)
        XCTAssertEqual(leftovers, ["cifar-small.tar.gz-\(bytes.count)"], "temporary folders left behind")
    }

    func testIncompleteExtractionIsRedone() throws {
        let root = try makeTemporaryFolder()
        let archive = root.appendingPathComponent("cifar-small.tar.gz")
        try Data(batchArchive()).write(to: archive)
        let cache = root.appendingPathComponent("cache")
        let found = try locate(archive.path, cache: cache)
        try FileManager.default.removeItem(at: found.appendingPathComponent("data_batch_4.bin"))
        XCTAssertEqual(try locate(archive.path, cache: cache).path, found.path)
        XCTAssertEqual(try CIFAR10.load(folder: found).train.count, 5 * testRecords)
    }

    func testFolderHoldingOneArchive() throws {
        let root = try makeTemporaryFolder()
        let shared = root.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: shared.appendingPathComponent("README.md"))
        try Data(batchArchive()).write(to: shared.appendingPathComponent("copy.tar.gz"))
        let cache = root.appendingPathComponent("cache")
        let found = try locate(nil, environment: ["AIRBENCH_DATA": shared.path], cache: cache)
        XCTAssertTrue(found.path.hasPrefix(cache.path + "/extracted/copy.tar.gz-"), found.path)
        XCTAssertTrue(CIFAR10.layout().isComplete(found))

        try Data(batchArchive()).write(to: shared.appendingPathComponent("second.tar.gz"))
        assertDataError(try locate(shared.path, cache: cache), mentions: [shared.path, "2 archives"])
    }

    func testFlagTakesPrecedenceOverEnvironment() throws {
        let root = try makeTemporaryFolder()
        let flagged = root.appendingPathComponent("flagged")
        try writeBatchFiles(into: flagged)
        let environment = ["AIRBENCH_DATA": root.appendingPathComponent("elsewhere").path]
        XCTAssertEqual(try locate(flagged.path, environment: environment, cache: root).path, flagged.path)
    }

    func testExplicitPathThatDoesNotExistIsAnError() throws {
        let root = try makeTemporaryFolder()
        let cache = root.appendingPathComponent("cache")
        let missing = root.appendingPathComponent("no-such-data").path
        // Even with downloads allowed, an explicit path never falls back to the internet.
        assertDataError(try locate(missing, cache: cache, allowDownload: true), mentions: [missing, "no such file"])
        assertDataError(try locate(nil, environment: ["AIRBENCH_DATA": missing], cache: cache, allowDownload: true),
                           mentions: [missing])
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.path))
    }

    func testExplicitFolderWithoutDataIsAnError() throws {
        let root = try makeTemporaryFolder()
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        assertDataError(try locate(empty.path, cache: root.appendingPathComponent("cache"), allowDownload: true),
                           mentions: [empty.path, "cifar-10-batches-bin", ".tar.gz"])
        let text = root.appendingPathComponent("notes.txt")
        try Data("x".utf8).write(to: text)
        assertDataError(try locate(text.path, cache: root), mentions: [text.path, "not a folder or a .tar.gz"])
    }

    func testPartialFolderReportsTheBadFile() throws {
        let root = try makeTemporaryFolder()
        let data = root.appendingPathComponent("data")
        try writeBatchFiles(into: data)
        let file = data.appendingPathComponent("data_batch_5.bin")
        try Data(batchFile(records: testRecords, seed: 1).dropLast(1)).write(to: file)
        assertFormatError(try locate(data.path, cache: root), about: file.path, mentions: ["truncated record"])
        try Data().write(to: file)
        assertFormatError(try locate(data.path, cache: root), about: file.path, mentions: ["holds no images"])
        try FileManager.default.removeItem(at: file)
        assertFormatError(try locate(data.path, cache: root), about: file.path, mentions: ["not found"])
    }

    func testBrokenArchiveNamesItAndLeavesNothing() throws {
        let root = try makeTemporaryFolder()
        let archive = root.appendingPathComponent("broken.tar.gz")
        var bytes = batchArchive()
        bytes[bytes.count - 6] ^= 0x10  // inside the CRC-32
        try Data(bytes).write(to: archive)
        let cache = root.appendingPathComponent("cache")
        assertFormatError(try locate(archive.path, cache: cache), about: archive.path, mentions: ["CRC-32"])
        let extracted = cache.appendingPathComponent("extracted").path
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: extracted), [])

        let wrongContents = root.appendingPathComponent("other.tar.gz")
        try Data(storedGzip(tarArchive([TarTestEntry(name: "readme.txt", contents: [1, 2])]))).write(to: wrongContents)
        assertDataError(try locate(wrongContents.path, cache: cache), mentions: [wrongContents.path, "cifar-10-batches-bin"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: extracted), [])
    }

    func testCacheContentsAreUsedWithoutDownloading() throws {
        let cache = try makeTemporaryFolder()
        let cached = cache.appendingPathComponent("cifar-10-batches-bin")
        try writeBatchFiles(into: cached)
        XCTAssertEqual(try locate(nil, cache: cache).path, cached.path)
        try FileManager.default.removeItem(at: cached)
        // An archive already downloaded into the cache is extracted, not fetched again.
        try Data(batchArchive()).write(to: cache.appendingPathComponent("cifar-10-binary.tar.gz"))
        XCTAssertTrue(CIFAR10.layout().isComplete(try locate(nil, cache: cache)))
    }

    func testOfflineDownloadFailsFastWithHint() throws {
        let cache = try makeTemporaryFolder().appendingPathComponent("cache")
        assertDataError(try locate(nil, cache: cache, allowDownload: true),
                           mentions: [unreachable.absoluteString, "point --data at a local copy", "AIRBENCH_DATA"]) {
            if case .downloadFailed = $0 { return true } else { return false }
        }
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []
        XCTAssertEqual(leftovers, [], "partial download left in the cache")

        assertDataError(try locate(nil, cache: cache, allowDownload: false),
                           mentions: [cache.path, "downloading is off", "point --data"])
    }

    func testDownloadIsCheckedRenamedAndExtracted() throws {
        let archive = batchArchive()
        let server = try LocalHTTPServer(status: 200, body: archive)
        defer { server.stop() }
        let url = server.url(path: "cifar-10-binary.tar.gz")
        let cache = try makeTemporaryFolder().appendingPathComponent("cache")

        assertDataError(try locate(nil, cache: cache, allowDownload: true, downloadURL: url, downloadMD5: "0123"),
                           mentions: [url.absoluteString, "checksum mismatch", MD5Checksum.hexDigest(archive)])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path), [], "rejected download kept")

        let found = try locate(nil, cache: cache, allowDownload: true, downloadURL: url, downloadMD5: MD5Checksum.hexDigest(archive))
        XCTAssertEqual(try Data(contentsOf: cache.appendingPathComponent("cifar-10-binary.tar.gz")), Data(archive))
        XCTAssertEqual(try CIFAR10.load(folder: found).test.count, testRecords)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path).sorted(),
                       ["cifar-10-binary.tar.gz", "extracted"])
    }

    func testHTTPErrorIsADownloadFailure() throws {
        let server = try LocalHTTPServer(status: 404, body: Array("not here".utf8))
        defer { server.stop() }
        let url = server.url(path: "cifar-10-binary.tar.gz")
        let cache = try makeTemporaryFolder()
        assertDataError(try locate(nil, cache: cache, allowDownload: true, downloadURL: url),
                           mentions: [url.absoluteString, "HTTP status 404", "AIRBENCH_DATA"])
    }

    func testDefaultCacheFolder() {
        XCTAssertEqual(DatasetLayout.defaultCacheFolder(environment: ["AIRBENCH_CACHE": "/tmp/a", "XDG_CACHE_HOME": "/tmp/x"]).path, "/tmp/a")
        XCTAssertEqual(DatasetLayout.defaultCacheFolder(environment: ["XDG_CACHE_HOME": "/tmp/x", "HOME": "/home/h"]).path, "/tmp/x/airbench")
        XCTAssertEqual(DatasetLayout.defaultCacheFolder(environment: ["HOME": "/home/h"]).path, "/home/h/.cache/airbench")
        XCTAssertEqual(DatasetLayout.defaultCacheFolder(environment: ["AIRBENCH_CACHE": "", "HOME": "/home/h"]).path, "/home/h/.cache/airbench")
    }
}
