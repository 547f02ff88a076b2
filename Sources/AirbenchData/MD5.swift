import Foundation

/// MD5 (RFC 1321), used only to check that a downloaded archive is the published one.
package struct MD5: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476)
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    package init() {}

    /// Per-round left-rotation amounts.
    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]

    /// The sine-derived constants: floor(|sin(i + 1)| × 2^32).
    private static let constants: [UInt32] = (0 ..< 64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    /// Feeds `bytes` into the digest.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending.append(contentsOf: bytes[0 ..< take])
            offset = take
            if pending.count == 64 {
                let block = pending
                block.withUnsafeBytes { compress($0.baseAddress!) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        while bytes.count - offset >= 64 {
            compress(bytes.baseAddress! + offset)
            offset += 64
        }
        if offset < bytes.count {
            pending.append(contentsOf: bytes[offset...])
        }
    }

    /// Pads the message and returns the 16-byte digest.
    package mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        let afterMarker = (Int(length % 64) + 1) % 64
        padding += [UInt8](repeating: 0, count: (56 - afterMarker + 64) % 64)
        padding += (0 ..< 8).map { UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64($0))) }
        padding.withUnsafeBytes { update($0) }
        return [state.0, state.1, state.2, state.3].flatMap { word in
            (0 ..< 4).map { UInt8(truncatingIfNeeded: word >> (8 * UInt32($0))) }
        }
    }

    /// The digest of `bytes` as 32 lowercase hex digits.
    package static func hexDigest(_ bytes: [UInt8]) -> String {
        var md5 = MD5()
        bytes.withUnsafeBytes { md5.update($0) }
        return hex(md5.finalize())
    }

    /// The digest of a file's contents as 32 lowercase hex digits, read in pieces so large files cost little memory.
    package static func hexDigest(ofFile file: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw CIFAR10Error.missingFile(path: file.path, expected: [file.lastPathComponent])
        }
        defer { try? handle.close() }
        var md5 = MD5()
        while true {
            let piece: Data
            do {
                piece = try handle.read(upToCount: 1 << 22) ?? Data()
            } catch {
                throw CIFAR10Error.fileSystem(path: file.path, reason: "cannot read: \(error.localizedDescription)")
            }
            if piece.isEmpty { break }
            piece.withUnsafeBytes { md5.update($0) }
        }
        return hex(md5.finalize())
    }

    private static func hex(_ digest: [UInt8]) -> String {
        digest.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    /// Processes one 64-byte block.
    private mutating func compress(_ block: UnsafeRawPointer) {
        var (a, b, c, d) = state
        for round in 0 ..< 64 {
            var f: UInt32
            let wordIndex: Int
            switch round {
            case 0 ..< 16:
                f = (b & c) | (~b & d)
                wordIndex = round
            case 16 ..< 32:
                f = (d & b) | (~d & c)
                wordIndex = (5 * round + 1) % 16
            case 32 ..< 48:
                f = b ^ c ^ d
                wordIndex = (3 * round + 5) % 16
            default:
                f = c ^ (b | ~d)
                wordIndex = (7 * round) % 16
            }
            f = f &+ a &+ Self.constants[round] &+ block.loadUnaligned(fromByteOffset: 4 * wordIndex, as: UInt32.self).littleEndian
            a = d
            d = c
            c = b
            let shift = Self.shifts[round]
            b = b &+ ((f << shift) | (f >> (32 - shift)))
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }
}
