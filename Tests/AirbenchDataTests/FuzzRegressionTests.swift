@_spi(Fuzzing) import AirbenchFormats
import Foundation
import XCTest

/// Every input in Fixtures/fuzz-regressions/ once crashed a fuzz harness (scripts/fuzz.sh); each must now
/// run through the same entry point without crashing. The file name starts with the harness name; the
/// tests next to each parser say what the input is rejected for.
final class FuzzRegressionTests: XCTestCase {
    func testFormerCrashesRunCleanly() throws {
        let folder = try XCTUnwrap(
            Bundle.module.url(forResource: "fuzz-regressions", withExtension: nil, subdirectory: "Fixtures"))
        let entryPoints: [String: (UnsafeRawBufferPointer) -> Void] = [
            "tar": FuzzEntryPoints.tar, "gzip": FuzzEntryPoints.gzip, "cifar10": FuzzEntryPoints.cifar10Batch,
            "cifar100": FuzzEntryPoints.cifar100, "mat": FuzzEntryPoints.mat, "png": FuzzEntryPoints.png,
            "safetensors": FuzzEntryPoints.safetensors,
        ]
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let harness = String(name.prefix { $0 != "-" })
            let entryPoint = try XCTUnwrap(entryPoints[harness], "\(name): no harness '\(harness)'")
            let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
            bytes.withUnsafeBytes { entryPoint($0) }
        }
    }
}
