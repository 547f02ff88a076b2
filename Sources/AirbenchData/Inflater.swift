/// A DEFLATE decoder (RFC 1951): stored, fixed-Huffman and dynamic-Huffman blocks.
///
/// Output goes to a caller-supplied sink in pieces of about `chunkSize` bytes (the first up to
/// 32 KiB more), keeping only the 32 KiB window that back-references may reach, so a 180 MB
/// stream never sits in memory whole.
package enum Inflater {
    /// How far back a DEFLATE match may reach.
    private static let windowSize = 32 * 1024
    /// Longest match.
    private static let maxMatch = 258

    /// Decodes the DEFLATE stream that starts at byte `start` of `input`, passing the output to `sink`.
    ///
    /// - Returns: the index of the first byte after the stream (its last byte is padded to a byte boundary).
    /// - Throws: `ArchiveError` for malformed or truncated data, or whatever `sink` throws.
    package static func inflate(
        _ input: UnsafeRawBufferPointer,
        start: Int = 0,
        chunkSize: Int = 1 << 20,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        guard start < input.count else { throw ArchiveError.truncated("DEFLATE stream") }
        var reader = BitReader(input, start: start)
        var output = OutputWindow(capacity: windowSize + chunkSize)
        let literals = HuffmanTable(fastBits: 10, maxSymbols: 288)
        let distances = HuffmanTable(fastBits: 9, maxSymbols: 32)
        let codeLengths = HuffmanTable(fastBits: 7, maxSymbols: 19)
        let constants = DeflateConstants()
        defer {
            output.deallocate()
            literals.deallocate()
            distances.deallocate()
            codeLengths.deallocate()
            constants.deallocate()
        }

        var isFinal = false
        repeat {
            try reader.refill()
            isFinal = reader.bits(1) == 1
            switch reader.bits(2) {
            case 0:
                try copyStoredBlock(input, reader: &reader, output: &output, sink: sink)
            case 1:
                try constants.buildFixed(literals: literals, distances: distances)
                try decodeBlock(reader: &reader, output: &output, literals: literals, distances: distances,
                                constants: constants, sink: sink)
            case 2:
                try readDynamicCodes(reader: &reader, literals: literals, distances: distances,
                                     codeLengths: codeLengths, constants: constants)
                try decodeBlock(reader: &reader, output: &output, literals: literals, distances: distances,
                                constants: constants, sink: sink)
            default:
                throw ArchiveError.invalidDeflate("reserved block type 3")
            }
            guard reader.isWithinInput else { throw ArchiveError.truncated("DEFLATE stream") }
        } while !isFinal
        try output.flush(sink)
        return try reader.alignToByte()
    }

    /// A stored block: byte-aligned LEN, NLEN (its complement), then LEN raw bytes.
    private static func copyStoredBlock(
        _ input: UnsafeRawBufferPointer,
        reader: inout BitReader,
        output: inout OutputWindow,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var position = try reader.alignToByte()
        guard position + 4 <= input.count else { throw ArchiveError.truncated("stored block header") }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
        guard length == ~complement & 0xFFFF else {
            throw ArchiveError.invalidDeflate("stored block length \(length) does not match its complement")
        }
        position += 4
        guard position + length <= input.count else { throw ArchiveError.truncated("stored block") }
        var remaining = length
        while remaining > 0 {
            if output.position == output.capacity { try output.flush(sink) }
            let piece = min(remaining, output.capacity - output.position)
            (output.base + output.position).update(
                from: input.baseAddress!.assumingMemoryBound(to: UInt8.self) + position, count: piece)
            output.position += piece
            position += piece
            remaining -= piece
        }
        reader.seek(toByte: position)
    }

    /// Reads a dynamic block's code-length code, then the literal/length and distance code lengths.
    private static func readDynamicCodes(
        reader: inout BitReader,
        literals: HuffmanTable,
        distances: HuffmanTable,
        codeLengths: HuffmanTable,
        constants: DeflateConstants
    ) throws {
        try reader.refill()
        let literalCount = reader.bits(5) + 257
        let distanceCount = reader.bits(5) + 1
        let codeLengthCount = reader.bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw ArchiveError.invalidDeflate("\(literalCount) literal/length or \(distanceCount) distance codes")
        }
        let lengths = constants.lengths
        lengths.update(repeating: 0, count: 19)
        for index in 0 ..< codeLengthCount {
            try reader.refill()
            lengths[DeflateConstants.codeLengthOrder[index]] = UInt8(reader.bits(3))
        }
        try codeLengths.build(lengths: lengths, count: 19)

        let total = literalCount + distanceCount
        var index = 0
        while index < total {
            try reader.refill()
            let entry = codeLengths.decode(reader.buffer)
            guard entry >= 0 else { throw ArchiveError.invalidDeflate("invalid code-length code") }
            reader.consume(entry & 15)
            let symbol = entry >> 4
            if symbol < 16 {
                lengths[index] = UInt8(symbol)
                index += 1
                continue
            }
            let value: UInt8
            let repeats: Int
            switch symbol {
            case 16:
                guard index > 0 else { throw ArchiveError.invalidDeflate("length repeat with no previous length") }
                value = lengths[index - 1]
                repeats = 3 + reader.bits(2)
            case 17:
                value = 0
                repeats = 3 + reader.bits(3)
            default:
                value = 0
                repeats = 11 + reader.bits(7)
            }
            guard index + repeats <= total else { throw ArchiveError.invalidDeflate("code lengths overrun the alphabet") }
            lengths.advanced(by: index).update(repeating: value, count: repeats)
            index += repeats
        }
        guard lengths[256] != 0 else { throw ArchiveError.invalidDeflate("no end-of-block code") }
        try literals.build(lengths: lengths, count: literalCount)
        try distances.build(lengths: lengths + literalCount, count: distanceCount)
    }

    /// Decodes literal/length and distance symbols until end-of-block; the hot loop of decompression.
    private static func decodeBlock(
        reader: inout BitReader,
        output: inout OutputWindow,
        literals: HuffmanTable,
        distances: HuffmanTable,
        constants: DeflateConstants,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let lengthBase = constants.lengthBase
        let lengthExtra = constants.lengthExtra
        let distanceBase = constants.distanceBase
        let distanceExtra = constants.distanceExtra
        let out = output.base
        while true {
            if output.position >= output.capacity { try output.flush(sink) }
            // One refill leaves ≥ 56 bits: enough for the longest length code + extra bits (15 + 5)
            // and distance code + extra bits (15 + 13).
            try reader.refill()
            let entry = literals.decode(reader.buffer)
            guard entry >= 0 else { throw ArchiveError.invalidDeflate("invalid literal/length code") }
            reader.consume(entry & 15)
            let symbol = entry >> 4
            if symbol < 256 {
                out[output.position] = UInt8(truncatingIfNeeded: symbol)
                output.position += 1
                continue
            }
            if symbol == 256 { return }
            let lengthSymbol = symbol - 257
            guard lengthSymbol < 29 else { throw ArchiveError.invalidDeflate("invalid length symbol \(symbol)") }
            let length = Int(lengthBase[lengthSymbol]) + reader.bits(Int(lengthExtra[lengthSymbol]))

            let distanceEntry = distances.decode(reader.buffer)
            guard distanceEntry >= 0 else { throw ArchiveError.invalidDeflate("invalid distance code") }
            reader.consume(distanceEntry & 15)
            let distanceSymbol = distanceEntry >> 4
            guard distanceSymbol < 30 else {
                throw ArchiveError.invalidDeflate("invalid distance symbol \(distanceSymbol)")
            }
            let distance = Int(distanceBase[distanceSymbol]) + reader.bits(Int(distanceExtra[distanceSymbol]))
            guard distance <= output.position else {
                throw ArchiveError.invalidDeflate("distance \(distance) reaches before the start of the output")
            }

            var destination = out + output.position
            var source = destination - distance
            output.position += length
            if distance >= 8 {
                // Copy 8 bytes at a time: each load reads bytes already final because the source
                // trails the destination by at least 8. The last store may run up to 7 bytes past
                // the match, into the slack OutputWindow keeps, and is overwritten later.
                let stop = destination + length
                while destination < stop {
                    UnsafeMutableRawPointer(destination).storeBytes(
                        of: UnsafeRawPointer(source).loadUnaligned(as: UInt64.self), as: UInt64.self)
                    destination += 8
                    source += 8
                }
            } else {
                // Overlapping short-distance copy (runs): must go byte by byte.
                for offset in 0 ..< length {
                    destination[offset] = source[offset]
                }
            }
        }
    }
}

/// The decoder's output buffer: the last 32 KiB of history followed by up to one chunk of new bytes.
private struct OutputWindow {
    /// Bytes written before a flush is due; the allocation is larger by one maximal match plus 8
    /// bytes, so a match that starts just below `capacity` still fits.
    let capacity: Int
    let base: UnsafeMutablePointer<UInt8>
    /// Next byte to write.
    var position = 0
    /// Bytes before this index have already gone to the sink.
    private var flushed = 0

    init(capacity: Int) {
        self.capacity = capacity
        let allocated = capacity + 258 + 8
        base = .allocate(capacity: allocated)
        base.initialize(repeating: 0, count: allocated)
    }

    func deallocate() { base.deallocate() }

    /// Hands the new bytes to the sink, then slides the last 32 KiB to the front for back-references.
    mutating func flush(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        if position > flushed {
            try sink(UnsafeRawBufferPointer(start: base + flushed, count: position - flushed))
        }
        let keep = min(position, 32 * 1024)
        base.update(from: base + position - keep, count: keep)
        position = keep
        flushed = keep
    }
}

/// RFC 1951's fixed tables, copied into raw memory so the hot loop indexes them without bounds checks.
private struct DeflateConstants {
    /// Order in which a dynamic block lists the code-length code's lengths.
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    let lengthBase = Self.copy([
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
    ])
    let lengthExtra = Self.copy([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0])
    let distanceBase = Self.copy([
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
        1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ])
    let distanceExtra = Self.copy([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13])
    /// Scratch space for code lengths: 286 literal/length + 30 distance codes at most.
    let lengths: UnsafeMutablePointer<UInt8> = {
        let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: 320)
        lengths.initialize(repeating: 0, count: 320)
        return lengths
    }()

    private static func copy(_ values: [Int32]) -> UnsafeMutablePointer<Int32> {
        let pointer = UnsafeMutablePointer<Int32>.allocate(capacity: values.count)
        pointer.initialize(from: values, count: values.count)
        return pointer
    }

    func deallocate() {
        lengthBase.deallocate()
        lengthExtra.deallocate()
        distanceBase.deallocate()
        distanceExtra.deallocate()
        lengths.deallocate()
    }

    /// Loads the fixed-Huffman codes of block type 1.
    func buildFixed(literals: HuffmanTable, distances: HuffmanTable) throws {
        lengths.update(repeating: 8, count: 144)
        (lengths + 144).update(repeating: 9, count: 112)
        (lengths + 256).update(repeating: 7, count: 24)
        (lengths + 280).update(repeating: 8, count: 8)
        try literals.build(lengths: lengths, count: 288)
        lengths.update(repeating: 5, count: 32)
        try distances.build(lengths: lengths, count: 32)
    }
}
