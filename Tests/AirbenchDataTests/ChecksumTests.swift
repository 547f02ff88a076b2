import AirbenchData
import Foundation
import XCTest

final class ChecksumTests: XCTestCase {
    /// The test suite of RFC 1321, appendix A.5.
    func testMD5RFC1321Vectors() {
        let vectors = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (message, digest) in vectors {
            XCTAssertEqual(MD5Checksum.hexDigest(Array(message.utf8)), digest, "md5(\"\(message)\")")
        }
    }

    func testMD5OfFilesReadInPieces() throws {
        let bytes = GzipVectors.plainMultiBlock
        let whole = MD5Checksum.hexDigest(bytes)
        // Padding edge cases around the 56-byte length field and the 64-byte block (digests from Python's hashlib).
        let paddingCases = [
            55: "ef1772b6dff9a122358552954ad0df65", 56: "3b0c8ac703f828b04c6c197006d17218",
            57: "652b906d60af96844ebd21b674f35e93", 63: "b06521f39153d618550606be297466d5",
            64: "014842d480b571495a4a0363793f7367", 65: "c743a45e0d2e6a95cb859adae0248435",
            119: "8a7bd0732ed6a28ce75f6dabc90e1613", 120: "5f61c0ccad4cac44c75ff505e1f1e537",
        ]
        for (length, digest) in paddingCases {
            XCTAssertEqual(MD5Checksum.hexDigest([UInt8](repeating: UInt8(ascii: "a"), count: length)), digest, "md5 of \(length) × a")
        }
        // From Python: hashlib.md5(gzip.decompress(multiBlock)).hexdigest().
        XCTAssertEqual(whole, "db0aee6264b976e2a489534e4491674a")
        let file = try makeTemporaryFolder().appendingPathComponent("bytes")
        try Data(bytes).write(to: file)
        // Read whole, and in pieces that cross the 64-byte block boundary in every way.
        for pieceSize in [1 << 22, 1, 63, 64, 65, 1000] {
            XCTAssertEqual(try MD5Checksum.hexDigest(ofFile: file, pieceSize: pieceSize), whole, "pieces of \(pieceSize)")
        }
        let empty = file.deletingLastPathComponent().appendingPathComponent("empty")
        try Data().write(to: empty)
        XCTAssertEqual(try MD5Checksum.hexDigest(ofFile: empty), "d41d8cd98f00b204e9800998ecf8427e")
        let missing = file.deletingLastPathComponent().appendingPathComponent("missing")
        assertDataError(try MD5Checksum.hexDigest(ofFile: missing), mentions: [missing.path, "not found"])
    }
}
