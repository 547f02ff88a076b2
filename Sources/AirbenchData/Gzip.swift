/// gzip framing (RFC 1952) around the DEFLATE decoder: header, CRC-32 and length check.
package enum Gzip {
    private static let headerCRCFlag: UInt8 = 2
    private static let extraFlag: UInt8 = 4
    private static let nameFlag: UInt8 = 8
    private static let commentFlag: UInt8 = 16

    /// Decompresses every member of a gzip file, handing the output to `sink` in pieces of about
    /// `chunkSize` bytes (the first piece of a member may be up to 32 KiB longer).
    ///
    /// - Throws: `ArchiveError` when the framing is malformed, the data is cut short, or a member's
    ///   CRC-32 or length (ISIZE) disagrees with what was decompressed; or whatever `sink` throws.
    package static func decompress(
        _ input: UnsafeRawBufferPointer, chunkSize: Int = 1 << 20, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var position = 0
        repeat {
            position = try decompressMember(input, start: position, chunkSize: chunkSize, sink: sink)
            // Concatenated gzip files form one valid stream; tools such as tape writers may also pad
            // the end with zeros, which gzip itself accepts.
        } while position < input.count && !input[position...].allSatisfy({ $0 == 0 })
    }

    /// Decompresses a whole gzip file in memory.
    package static func decompress(_ bytes: [UInt8], chunkSize: Int = 1 << 20) throws -> [UInt8] {
        var result: [UInt8] = []
        try bytes.withUnsafeBytes { input in
            try decompress(input, chunkSize: chunkSize) { result.append(contentsOf: $0) }
        }
        return result
    }

    private static func decompressMember(
        _ input: UnsafeRawBufferPointer, start: Int, chunkSize: Int, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        var position = start
        func byte() throws -> UInt8 {
            guard position < input.count else { throw ArchiveError.truncated("gzip header") }
            defer { position += 1 }
            return input[position]
        }
        func littleEndian(_ width: Int) throws -> UInt32 {
            var value: UInt32 = 0
            for index in 0 ..< width {
                value |= UInt32(try byte()) << (8 * UInt32(index))
            }
            return value
        }

        guard try byte() == 0x1F, try byte() == 0x8B else {
            throw ArchiveError.invalidGzip("not gzip data (magic bytes 1f 8b missing)")
        }
        let method = try byte()
        guard method == 8 else { throw ArchiveError.invalidGzip("compression method \(method), only 8 (deflate) exists") }
        let flags = try byte()
        guard flags & 0xE0 == 0 else { throw ArchiveError.invalidGzip("reserved header flags set (0x\(String(flags, radix: 16)))") }
        position += 6  // modification time, extra flags, operating system: informational only
        guard position <= input.count else { throw ArchiveError.truncated("gzip header") }
        if flags & extraFlag != 0 {
            let extraLength = Int(try littleEndian(2))
            position += extraLength
            guard position <= input.count else { throw ArchiveError.truncated("gzip extra field") }
        }
        for flag in [nameFlag, commentFlag] where flags & flag != 0 {
            while try byte() != 0 {}
        }
        if flags & headerCRCFlag != 0 {
            var crc = CRC32()
            crc.update(UnsafeRawBufferPointer(rebasing: input[start ..< position]))
            let stored = try littleEndian(2)
            guard stored == crc.value & 0xFFFF else {
                throw ArchiveError.checksumMismatch(what: "gzip header CRC-16", expected: stored, actual: crc.value & 0xFFFF)
            }
        }

        var crc = CRC32()
        var size: UInt32 = 0
        position = try Inflater.inflate(input, start: position, chunkSize: chunkSize) { piece in
            crc.update(piece)
            size &+= UInt32(truncatingIfNeeded: piece.count)
            try sink(piece)
        }
        guard position + 8 <= input.count else { throw ArchiveError.truncated("gzip trailer") }
        let storedCRC = try littleEndian(4)
        let storedSize = try littleEndian(4)
        guard storedCRC == crc.value else {
            throw ArchiveError.checksumMismatch(what: "gzip CRC-32", expected: storedCRC, actual: crc.value)
        }
        guard storedSize == size else {
            throw ArchiveError.checksumMismatch(what: "gzip length (ISIZE)", expected: storedSize, actual: size)
        }
        return position
    }
}
