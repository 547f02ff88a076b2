/// A canonical Huffman code (RFC 1951 §3.2.2) arranged for fast decoding.
///
/// Codes of up to `fastBits` bits resolve with one lookup indexed by the next `fastBits` input bits;
/// longer (rare) codes fall back to walking the code lengths one bit at a time.
package struct HuffmanTable {
    /// The longest code DEFLATE allows.
    package static let maxBits = 15

    /// Width of the direct lookup.
    package let fastBits: Int
    /// `1 << fastBits` entries of `symbol << 4 | length`; 0 means "longer than fastBits, or no such code".
    private let fast: UnsafeMutablePointer<UInt16>
    /// Number of codes of each length 0 … 15.
    private let counts: UnsafeMutablePointer<UInt16>
    /// Symbols ordered by (code length, symbol value), which is their canonical code order.
    private let symbols: UnsafeMutablePointer<UInt16>
    private let capacity: Int

    /// Allocates a table for alphabets of up to `maxSymbols` symbols; call `deallocate()` when done.
    package init(fastBits: Int, maxSymbols: Int) {
        self.fastBits = fastBits
        fast = .allocate(capacity: 1 << fastBits)
        fast.initialize(repeating: 0, count: 1 << fastBits)
        counts = .allocate(capacity: Self.maxBits + 1)
        counts.initialize(repeating: 0, count: Self.maxBits + 1)
        symbols = .allocate(capacity: maxSymbols)
        symbols.initialize(repeating: 0, count: maxSymbols)
        capacity = maxSymbols
    }

    /// Frees the table's storage.
    package func deallocate() {
        fast.deallocate()
        counts.deallocate()
        symbols.deallocate()
    }

    /// Rebuilds the code from per-symbol code lengths (0 = symbol unused).
    ///
    /// Over-subscribed lengths are rejected; incomplete codes are allowed, as zlib allows them for
    /// the one-distance-code case, and any unassigned code is reported when it is decoded.
    package func build(lengths: UnsafePointer<UInt8>, count symbolCount: Int) throws {
        precondition(symbolCount <= capacity)
        counts.update(repeating: 0, count: Self.maxBits + 1)
        for symbol in 0 ..< symbolCount {
            counts[Int(lengths[symbol])] += 1
        }
        counts[0] = 0
        var available = 1
        for length in 1 ... Self.maxBits {
            available = (available << 1) - Int(counts[length])
            guard available >= 0 else { throw ArchiveError.invalidDeflate("over-subscribed Huffman code lengths") }
        }
        var offsets = [Int](repeating: 0, count: Self.maxBits + 2)
        for length in 1 ... Self.maxBits {
            offsets[length + 1] = offsets[length] + Int(counts[length])
        }
        for symbol in 0 ..< symbolCount where lengths[symbol] != 0 {
            let length = Int(lengths[symbol])
            symbols[offsets[length]] = UInt16(symbol)
            offsets[length] += 1
        }

        let tableSize = 1 << fastBits
        fast.update(repeating: 0, count: tableSize)
        var code = 0
        var index = 0
        for length in 1 ... min(fastBits, Self.maxBits) {
            for _ in 0 ..< Int(counts[length]) {
                // The stream sends codes most-significant bit first but we index with the bits in
                // arrival order, so the table is indexed by the bit-reversed code; every entry whose
                // low `length` bits match gets the symbol.
                let entry = UInt16(truncatingIfNeeded: Int(symbols[index]) << 4 | length)
                var slot = Self.reverse(code, width: length)
                while slot < tableSize {
                    fast[slot] = entry
                    slot += 1 << length
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
    }

    /// Decodes the symbol at the front of `bits` (next bit lowest; at least 15 valid bits).
    /// Returns `symbol << 4 | length`, or -1 when the bits are no code.
    @inline(__always)
    package func decode(_ bits: UInt64) -> Int {
        let entry = Int(fast[Int(truncatingIfNeeded: bits) & ((1 << fastBits) - 1)])
        return entry != 0 ? entry : decodeLong(bits)
    }

    /// Walks the canonical code one length at a time (RFC 1951's "puff" method).
    private func decodeLong(_ bits: UInt64) -> Int {
        var remaining = bits
        var code = 0
        var first = 0
        var index = 0
        for length in 1 ... Self.maxBits {
            code |= Int(remaining & 1)
            remaining >>= 1
            let count = Int(counts[length])
            if code - first < count {
                return Int(symbols[index + code - first]) << 4 | length
            }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        return -1
    }

    private static func reverse(_ code: Int, width: Int) -> Int {
        var reversed = 0
        var rest = code
        for _ in 0 ..< width {
            reversed = reversed << 1 | (rest & 1)
            rest >>= 1
        }
        return reversed
    }
}
