/// Reads a byte buffer as a little-endian bit stream, the order DEFLATE packs its bits in.
///
/// Keeps up to 64 bits in a register and refills eight bytes at a time, so the decoder's hot
/// loop needs one refill per symbol instead of one load per bit.
package struct BitReader {
    private let base: UnsafePointer<UInt8>
    private let end: Int
    /// Index of the next byte to load into `buffer`.
    private var position: Int
    /// Unconsumed bits, the next one lowest.
    package private(set) var buffer: UInt64 = 0
    /// How many bits of `buffer` are valid.
    package private(set) var count = 0
    /// Zero bytes loaded past the end; refilling reads ahead, so a few are harmless until consumed.
    private var padding = 0

    /// Starts reading `bytes` (which must not be empty) at byte `start`.
    package init(_ bytes: UnsafeRawBufferPointer, start: Int) {
        base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        end = bytes.count
        position = start
    }

    /// Tops `buffer` up to at least 56 valid bits.
    @inline(__always)
    package mutating func refill() throws {
        if position + 8 <= end {
            // Branch-free refill: load 8 bytes, keep the whole bytes that fit. Re-loading bytes that
            // were already in the buffer ORs identical bits into identical positions, so it is harmless.
            let word = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self).littleEndian
            buffer |= word &<< UInt64(count)
            position += (63 - count) &>> 3
            count |= 56
        } else {
            try refillNearEnd()
        }
    }

    private mutating func refillNearEnd() throws {
        while count <= 56 {
            if position < end {
                buffer |= UInt64(base[position]) &<< UInt64(count)
                position += 1
            } else {
                // More than a register's worth of padding means the decoder has consumed bits
                // that are not there; stop it before it decodes garbage forever.
                padding += 1
                if padding > 16 { throw ArchiveError.truncated("DEFLATE stream") }
            }
            count += 8
        }
    }

    /// The next `width` bits without consuming them (`width` ≤ `count`).
    @inline(__always)
    package func peek(_ width: Int) -> Int {
        Int(truncatingIfNeeded: buffer & ((1 &<< UInt64(width)) &- 1))
    }

    /// Drops `width` bits (`width` ≤ `count`).
    @inline(__always)
    package mutating func consume(_ width: Int) {
        buffer = buffer &>> UInt64(width)
        count -= width
    }

    /// Reads and consumes `width` bits (`width` ≤ `count`).
    @inline(__always)
    package mutating func bits(_ width: Int) -> Int {
        let value = peek(width)
        consume(width)
        return value
    }

    /// Bits consumed since the start of the buffer (not since `start`).
    package var consumedBits: Int { (position + padding) * 8 - count }

    /// Whether the consumed bits all lie inside the buffer.
    package var isWithinInput: Bool { consumedBits <= end * 8 }

    /// Skips to the next byte boundary and hands back the buffered bytes: returns the index of the
    /// next unread byte, for stored blocks and trailers that are read byte-wise.
    package mutating func alignToByte() throws -> Int {
        consume(count & 7)
        let next = consumedBits / 8
        guard next <= end else { throw ArchiveError.truncated("DEFLATE stream") }
        position = next
        buffer = 0
        count = 0
        padding = 0
        return next
    }

    /// Continues reading at byte `index` with an empty bit buffer.
    package mutating func seek(toByte index: Int) {
        position = index
        buffer = 0
        count = 0
        padding = 0
    }
}
