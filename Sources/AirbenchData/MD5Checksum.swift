import AirbenchFormats
import Crypto
import Foundation

/// MD5 digests (swift-crypto's `Insecure.MD5`), used only to check that a downloaded archive is the
/// published one.
package enum MD5Checksum {
    /// The digest of `bytes` as 32 lowercase hex digits.
    package static func hexDigest(_ bytes: [UInt8]) -> String {
        hex(Insecure.MD5.hash(data: bytes))
    }

    /// The digest of a file's contents as 32 lowercase hex digits, read in pieces of `pieceSize` bytes
    /// so that large files cost little memory.
    ///
    /// - Throws: `DataError.fileSystem` when the file is not there or cannot be read.
    package static func hexDigest(ofFile file: URL, pieceSize: Int = 1 << 22) throws -> String {
        precondition(pieceSize > 0, "piece size must be positive")
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw DataError.fileSystem(path: file.path, reason: "cannot open: file not found or not readable")
        }
        defer { try? handle.close() }
        var md5 = Insecure.MD5()
        while true {
            let piece: Data
            do {
                piece = try handle.read(upToCount: pieceSize) ?? Data()
            } catch {
                throw DataError.fileSystem(path: file.path, reason: "cannot read: \(fileSystemReason(error))")
            }
            if piece.isEmpty { break }
            md5.update(data: piece)
        }
        return hex(md5.finalize())
    }

    private static func hex(_ digest: Insecure.MD5Digest) -> String {
        digest.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}
