import _CZlib

/// zlib (RFC 1950) decompression on top of the system zlib: a two-byte header, DEFLATE data and the
/// Adler-32 of the output, as PNG's IDAT chunks and MATLAB's `miCOMPRESSED` elements hold them.
package enum Zlib {
    /// The most output one byte of DEFLATE data can stand for: a 258-byte match costs at least two
    /// bits, so no stream inflates to more than 1032 times its length (plus a few bytes of framing).
    /// Readers use it to reject a size field before allocating anything for it.
    package static let maximumExpansion = 1032

    /// Whether `compressedBytes` of zlib data can possibly decompress to `size` bytes.
    package static func canHold(_ size: Int, compressedBytes: Int) -> Bool {
        let (limit, overflow) = compressedBytes.multipliedReportingOverflow(by: maximumExpansion)
        return size >= 0 && (overflow || size <= limit)
    }

    /// Decompresses the zlib stream at the start of `input`, handing the output to `sink` in pieces of
    /// at most `chunkSize` bytes; returns how many input bytes the stream occupied (the caller decides
    /// whether bytes after it are allowed).
    ///
    /// - Parameter file: the file the stream is part of, named in errors.
    /// - Throws: `FormatError` of kind `.truncated` when the input ends before the stream does,
    ///   `.invalidDeflate` for a bad header or DEFLATE data, `.checksumMismatch` for a wrong Adler-32,
    ///   or whatever `sink` throws (the way for a caller to stop output it has no room for).
    package static func inflate(
        _ input: UnsafeRawBufferPointer, file: String, chunkSize: Int = 1 << 16,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        guard !input.isEmpty else { throw FormatError(file: file, kind: .truncated("zlib stream (no data at all)")) }
        let stream = try InflateStream(file: file, chunkSize: chunkSize) { airbench_inflate_init_zlib($0) }
        return try stream.decode(
            input, from: 0, sink: sink,
            truncated: { .truncated("zlib stream (the data ends after \($0) decompressed bytes)") },
            failure: { status, _ in
                let message = stream.message(status: status)
                switch status {
                case Z_NEED_DICT:
                    return .invalidDeflate("the stream needs a preset dictionary, which no reader here has")
                case Z_DATA_ERROR where message == "incorrect data check":
                    return .checksumMismatch(what: "zlib Adler-32", stored: nil, computed: nil)
                case Z_DATA_ERROR:
                    return .invalidDeflate(message)
                default:
                    return .zlib("inflate failed: \(message)")
                }
            })
    }

    /// CRC-32 (ISO 3309, as in PNG and gzip) of `bytes`, continuing from `crc` (0 to start).
    package static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        var value = UInt(crc)
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, Int(UInt32.max))
            value = _CZlib.crc32(value, base.assumingMemoryBound(to: Bytef.self) + offset, UInt32(length))
            offset += length
        }
        return UInt32(truncatingIfNeeded: value)
    }
}
