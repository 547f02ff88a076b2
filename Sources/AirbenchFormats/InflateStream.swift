import _CZlib

/// One zlib `inflate` stream over an input held in memory, shared by `Gzip` and `Zlib`: sets the stream up
/// for a wrapper, feeds it, hands the output on in pieces, and stops at the end of a stream (a gzip member or
/// a zlib stream) or with a `FormatError` about the stream's file, of the kind the caller gives, for a failure.
final class InflateStream {
    /// The file the stream comes from, for errors.
    let file: String
    private var stream = z_stream()
    private let output: UnsafeMutableRawBufferPointer
    private let chunkSize: Int

    /// `initialize` is one of the shim's `airbench_inflate_init_*` (inflateInit2 is a macro).
    init(file: String, chunkSize: Int, initialize: (UnsafeMutablePointer<z_stream>) -> Int32) throws {
        precondition(chunkSize > 0 && chunkSize <= Int(UInt32.max), "chunk size \(chunkSize) out of range")
        self.file = file
        self.chunkSize = chunkSize
        let status = initialize(&stream)
        guard status == Z_OK else { throw FormatError(file: file, kind: .zlib("inflateInit2 failed with status \(status)")) }
        output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
    }

    deinit {
        inflateEnd(&stream)
        output.deallocate()
    }

    /// The decompressed bytes so far and zlib's running checksum (CRC-32 for gzip, Adler-32 for zlib).
    var totalOut: UInt { stream.total_out }
    var checksum: UInt { stream.adler }
    /// zlib's message for the last failure, else the status.
    func message(status: Int32) -> String { stream.msg.map { String(cString: $0) } ?? "status \(status)" }

    /// Decodes one stream starting at byte `position` of `input`, handing the output to `sink`; returns the
    /// position just past the stream. When the input ends first, throws the error about `file` of kind
    /// `truncated(totalOut)`; on any other failure, of kind `failure(status, position)` (position: how far zlib
    /// had read).
    func decode(_ input: UnsafeRawBufferPointer, from position: Int,
                sink: (UnsafeRawBufferPointer) throws -> Void, truncated: (UInt) -> FormatError.Kind,
                failure: (_ status: Int32, _ position: Int) -> FormatError.Kind) throws -> Int {
        let start = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        var position = position
        while true {
            stream.next_in = start + position
            stream.avail_in = UInt32(min(input.count - position, Int(UInt32.max)))
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = UInt32(chunkSize)
            let status = inflate(&stream, Z_NO_FLUSH)
            position = stream.next_in - start
            let produced = chunkSize - Int(stream.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: produced)) }
            switch status {
            case Z_STREAM_END:
                return position
            case Z_OK where produced > 0 || position < input.count:
                continue
            case Z_OK, Z_BUF_ERROR:
                // No progress is possible: zlib wants input that is not there.
                throw FormatError(file: file, kind: truncated(stream.total_out))
            default:
                throw FormatError(file: file, kind: failure(status, position))
            }
        }
    }

    /// Starts the next stream with the same wrapper (the next member of a gzip file).
    func reset() throws {
        let status = inflateReset(&stream)
        guard status == Z_OK else { throw FormatError(file: file, kind: .zlib("inflateReset failed with status \(status)")) }
    }
}
