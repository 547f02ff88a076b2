/// Why a gzip, DEFLATE or tar stream could not be decoded.
///
/// These carry no file name because the decoders work on bytes; the caller that knows the file
/// wraps them in `DataError.badArchive(path:reason:)`.
package enum ArchiveError: Error, CustomStringConvertible, Equatable {
    /// The data ended before the stream did.
    case truncated(String)
    /// The DEFLATE stream breaks RFC 1951 (zlib's reason).
    case invalidDeflate(String)
    /// The gzip framing breaks RFC 1952.
    case invalidGzip(String)
    /// A stored checksum or length disagrees with the data; the values when known.
    case checksumMismatch(what: String, stored: UInt32?, computed: UInt32?)
    /// A tar header is malformed.
    case invalidTar(String)
    /// zlib itself failed (out of memory, version mismatch), not the data.
    case zlib(String)

    package var description: String {
        switch self {
        case .truncated(let what): return "unexpected end of data in \(what)"
        case .invalidDeflate(let reason): return "invalid DEFLATE data: \(reason)"
        case .invalidGzip(let reason): return "invalid gzip data: \(reason)"
        case .checksumMismatch(let what, let stored?, let computed?):
            return "\(what) mismatch: stored \(hex(stored)), computed \(hex(computed))"
        case .checksumMismatch(let what, _, _):
            return "\(what) mismatch: the stored value does not match the data"
        case .invalidTar(let reason): return "invalid tar data: \(reason)"
        case .zlib(let reason): return "zlib error: \(reason)"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
