import AirbenchData
import Foundation
import XCTest

/// Checks the development copy of CIFAR-10 end to end; runs only where `AIRBENCH_DATA` points at it.
final class RealDataTests: XCTestCase {
    func testLocateAndLoadRealData() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let data = environment["AIRBENCH_DATA"], !data.isEmpty else { throw XCTSkip("AIRBENCH_DATA not set") }
        // Unpack into a throw-away cache unless the caller chose one, so the user's cache is never touched.
        let chosenCache = environment["AIRBENCH_CACHE"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
        let cache = try chosenCache ?? makeTemporaryFolder()
        let folder = try Dataset.locate(DatasetSelection(.cifar10), dataFlag: nil, environment: environment,
                                        cacheFolder: cache, allowDownload: false)
        let cifar = try Dataset.load(DatasetSelection(.cifar10), dataFlag: nil, environment: environment,
                                     cacheFolder: cache, allowDownload: false)
        XCTAssertEqual(cifar.train.count, 50_000)
        XCTAssertEqual(cifar.test.count, 10_000)
        XCTAssertEqual(cifar.train.images.count, 50_000 * 3072)
        var trainHistogram = [Int](repeating: 0, count: 10)
        for label in cifar.train.labels { trainHistogram[Int(label)] += 1 }
        var testHistogram = [Int](repeating: 0, count: 10)
        for label in cifar.test.labels { testHistogram[Int(label)] += 1 }
        XCTAssertEqual(trainHistogram, [Int](repeating: 5000, count: 10))
        XCTAssertEqual(testHistogram, [Int](repeating: 1000, count: 10))
        // The paper's statistics normalise, and the training split's own are close to them (they are the original
        // CIFAR-10's to four decimals; this copy went through JPEG).
        XCTAssertLessThan(cifar.trainingSplitStatistics.distance(to: .cifar10), 0.002, "\(cifar.trainingSplitStatistics)")
        XCTAssertEqual(cifar.normalization, .cifar10)
        XCTAssertTrue(cifar.statisticsAgree)
        XCTAssertEqual(cifar.classCount, 10)
        XCTAssertTrue(cifar.mirrorable)
        XCTAssertTrue(cifar.summary.hasPrefix("cifar10: 50,000 train images, 10,000 test images, 10 classes; "), cifar.summary)
        // From /work/shared/data/README.md: the extracted bytes are exactly the published ones.
        XCTAssertEqual(try MD5Checksum.hexDigest(ofFile: folder.appendingPathComponent("data_batch_1.bin")),
                       "5de62871f4520a680b25b0767cc2f4f8")
    }
}
