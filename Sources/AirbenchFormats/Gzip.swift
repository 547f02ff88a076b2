import _CZlib

/// gzip (RFC 1952) decompression on top of the system zlib.
///
/// zlib's `inflate` with the gzip wrapper (windowBits 16 + MAX_WBITS) checks the header, the CRC-32
/// and the length (ISIZE) of every member; this type feeds it, hands the output on in pieces, handles
/// concatenated members and trailing zero padding, and turns zlib's failures into `FormatError`s.
package enum Gzip {
    /// Decompresses every member of a gzip file, handing the output to `sink` in pieces of at most
    /// `chunkSize` bytes. Only one piece is held at a time, so the output never sits in memory whole.
    ///
    /// - Parameter file: the file the bytes come from, named in errors.
    /// - Throws: `FormatError` when the data is not gzip, the framing or DEFLATE data is malformed,
    ///   the data is cut short, or a member's CRC-32 or length (ISIZE) disagrees with what was
    ///   decompressed; or whatever `sink` throws.
    package static func decompress(
        _ input: UnsafeRawBufferPointer, file: String, chunkSize: Int = 1 << 20,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard !input.isEmpty else { throw FormatError(file: file, kind: .truncated("gzip header (no data at all)")) }
        let stream = try InflateStream(file: file, chunkSize: chunkSize) { airbench_inflate_init_gzip($0) }
        var position = 0
        var member = 1
        repeat {
            try checkMagic(input, at: position, file: file)
            let memberStart = position
            position = try stream.decode(
                input, from: position, sink: sink,
                truncated: { .truncated("gzip member \(member) (the data ends after \($0) decompressed bytes)") },
                failure: { status, position in
                    failure(status: status, message: stream.message(status: status), checksum: stream.checksum,
                            totalOut: stream.totalOut, input: input, memberStart: memberStart, position: position)
                })
            // Concatenated gzip files form one valid stream; tools such as tape writers may also pad
            // the end with zeros, which gzip itself accepts.
            guard position < input.count, !input[position...].allSatisfy({ $0 == 0 }) else { return }
            try stream.reset()
            member += 1
        } while true
    }

    /// Decompresses a whole gzip file in memory; `file` names it in errors.
    package static func decompress(_ bytes: [UInt8], file: String, chunkSize: Int = 1 << 20) throws -> [UInt8] {
        var result: [UInt8] = []
        try bytes.withUnsafeBytes { input in
            try decompress(input, file: file, chunkSize: chunkSize) { result.append(contentsOf: $0) }
        }
        return result
    }

    /// Rejects data that does not start with the gzip magic bytes before zlib sees it, so that the
    /// commonest mistake (a file that is not gzip at all, or junk after the last member) says so plainly.
    private static func checkMagic(_ input: UnsafeRawBufferPointer, at position: Int, file: String) throws {
        let magic: [UInt8] = [0x1F, 0x8B]
        let available = min(2, input.count - position)
        guard input[position ..< position + available].elementsEqual(magic.prefix(available)) else {
            throw FormatError(file: file, kind: .invalidGzip("not gzip data (magic bytes 1f 8b missing at byte \(position))"))
        }
    }

    /// What a failed `inflate` call means, with the stored and computed values where zlib compared them.
    private static func failure(
        status: Int32, message: String, checksum: UInt, totalOut: UInt, input: UnsafeRawBufferPointer, memberStart: Int,
        position: Int
    ) -> FormatError.Kind {
        /// The little-endian word zlib has just read: the trailer field it rejected.
        func storedWord() -> UInt32? {
            guard position >= 4 else { return nil }
            return (0 ..< 4).reduce(0) { $0 | UInt32(input[position - 4 + $1]) << (8 * UInt32($1)) }
        }
        switch (status, message) {
        case (Z_DATA_ERROR, "unknown compression method"):
            let method = memberStart + 2 < input.count ? "\(input[memberStart + 2])" : "?"
            return .invalidGzip("compression method \(method), only 8 (deflate) exists")
        case (Z_DATA_ERROR, "unknown header flags set"):
            let flags = memberStart + 3 < input.count ? String(input[memberStart + 3], radix: 16) : "?"
            return .invalidGzip("reserved header flags set (0x\(flags))")
        case (Z_DATA_ERROR, "header crc mismatch"):
            return .checksumMismatch(what: "gzip header CRC-16", stored: nil, computed: nil)
        case (Z_DATA_ERROR, "incorrect data check"):
            return .checksumMismatch(what: "gzip CRC-32", stored: storedWord(), computed: UInt32(truncatingIfNeeded: checksum))
        case (Z_DATA_ERROR, "incorrect length check"):
            return .checksumMismatch(
                what: "gzip length (ISIZE)", stored: storedWord(), computed: UInt32(truncatingIfNeeded: totalOut))
        case (Z_DATA_ERROR, _):
            return .invalidDeflate(message)
        default:
            return .zlib("inflate failed: \(message)")
        }
    }
}
