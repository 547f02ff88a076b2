/// What a `TarReader` found in the stream.
package enum TarEvent {
    /// A regular file begins; `fileData` pieces (possibly none) and `fileEnd` follow.
    case fileStart(path: String, size: Int)
    /// The next piece of the current file's contents.
    case fileData(UnsafeRawBufferPointer)
    /// The current file is complete.
    case fileEnd
}

/// A streaming reader for ustar / GNU / pax tar archives: feed it bytes in pieces of any size and
/// it reports regular files. Directories, links and other entries are skipped; GNU long names
/// ('L') and pax `path` records apply to the entry that follows them.
package struct TarReader {
    private static let blockSize = 512
    /// The largest GNU long name or pax extended header accepted (they are held in memory whole).
    package static let maximumMetadataSize = 1 << 20

    private enum State {
        /// Collecting a 512-byte header.
        case header
        /// Passing on a regular file's contents.
        case fileData(remaining: Int, padding: Int)
        /// Collecting a GNU long name or pax header that describes the next entry.
        case metadata(kind: UInt8, remaining: Int, padding: Int)
        /// Discarding an entry's contents (and padding).
        case skip(remaining: Int)
        /// Past the end-of-archive marker.
        case finished
    }

    /// The archive, named in errors.
    private let file: String
    private var state = State.header
    private var header: [UInt8] = []
    private var metadata: [UInt8] = []
    private var pendingPath: String?
    private var zeroBlocks = 0

    /// A reader of the archive `file` (named in errors).
    package init(file: String) {
        self.file = file
        header.reserveCapacity(Self.blockSize)
    }

    /// Parses the next piece of the archive, reporting what it completes.
    package mutating func consume(_ bytes: UnsafeRawBufferPointer, handler: (TarEvent) throws -> Void) throws {
        var offset = 0
        while offset < bytes.count {
            switch state {
            case .header:
                let take = min(Self.blockSize - header.count, bytes.count - offset)
                header.append(contentsOf: bytes[offset ..< offset + take])
                offset += take
                if header.count == Self.blockSize {
                    try parseHeader(handler: handler)
                    header.removeAll(keepingCapacity: true)
                }
            case .fileData(let remaining, let padding):
                let take = min(remaining, bytes.count - offset)
                if take > 0 {
                    try handler(.fileData(UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + take])))
                }
                offset += take
                if remaining - take == 0 {
                    try handler(.fileEnd)
                    state = padding > 0 ? .skip(remaining: padding) : .header
                } else {
                    state = .fileData(remaining: remaining - take, padding: padding)
                }
            case .metadata(let kind, let remaining, let padding):
                let take = min(remaining, bytes.count - offset)
                metadata.append(contentsOf: bytes[offset ..< offset + take])
                offset += take
                if remaining - take == 0 {
                    pendingPath = kind == UInt8(ascii: "L") ? Self.string(metadata[...]) : try paxPath(metadata) ?? pendingPath
                    state = padding > 0 ? .skip(remaining: padding) : .header
                } else {
                    state = .metadata(kind: kind, remaining: remaining - take, padding: padding)
                }
            case .skip(let remaining):
                let take = min(remaining, bytes.count - offset)
                offset += take
                state = remaining - take == 0 ? .header : .skip(remaining: remaining - take)
            case .finished:
                return
            }
        }
    }

    /// Checks that the archive did not stop in the middle of an entry.
    package func finish() throws {
        switch state {
        case .finished:
            return
        case .header where header.isEmpty:
            // Some writers omit the two zero blocks; an archive ending between entries is complete.
            return
        default:
            throw FormatError(file: file, kind: .truncated("tar archive"))
        }
    }

    /// Reads a whole in-memory archive, returning its regular files in order; `file` names it in errors.
    package static func files(in archive: [UInt8], file: String) throws -> [(path: String, contents: [UInt8])] {
        var reader = TarReader(file: file)
        var files: [(path: String, contents: [UInt8])] = []
        try archive.withUnsafeBytes { bytes in
            try reader.consume(bytes) { event in
                switch event {
                case .fileStart(let path, _): files.append((path, []))
                case .fileData(let piece): files[files.count - 1].contents.append(contentsOf: piece)
                case .fileEnd: break
                }
            }
        }
        try reader.finish()
        return files
    }

    private mutating func parseHeader(handler: (TarEvent) throws -> Void) throws {
        if header.allSatisfy({ $0 == 0 }) {
            zeroBlocks += 1
            if zeroBlocks == 2 { state = .finished }
            return
        }
        zeroBlocks = 0
        let storedChecksum = try number(header[148 ..< 156], field: "checksum")
        // The checksum is the byte sum with the checksum field read as spaces; very old writers
        // summed signed bytes, so accept that too.
        let unsignedSum = header.enumerated().reduce(0) { $0 + (148 ..< 156 ~= $1.offset ? 32 : Int($1.element)) }
        let signedSum = header.enumerated().reduce(0) { $0 + (148 ..< 156 ~= $1.offset ? 32 : Int(Int8(bitPattern: $1.element))) }
        guard storedChecksum == unsignedSum || storedChecksum == signedSum else {
            throw invalid("header checksum \(storedChecksum) does not match computed \(unsignedSum)")
        }

        let size = try number(header[124 ..< 136], field: "size")
        // Sizes are never trusted for allocation (contents are streamed), but size + padding must not
        // overflow, and a long name or pax header is collected in memory, so it is bounded.
        guard size <= Int.max - Self.blockSize else {
            throw invalid("size field \(size) is out of range")
        }
        let padding = (Self.blockSize - size % Self.blockSize) % Self.blockSize
        let kind = header[156]
        if kind == UInt8(ascii: "L") || kind == UInt8(ascii: "x"), size > Self.maximumMetadataSize {
            throw invalid(
                "a \(kind == UInt8(ascii: "L") ? "GNU long name" : "pax header") of \(size) bytes; at most \(Self.maximumMetadataSize) are accepted")
        }
        switch kind {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
            let path = pendingPath ?? headerPath()
            pendingPath = nil
            try handler(.fileStart(path: path, size: size))
            if size == 0 {
                try handler(.fileEnd)
            } else {
                state = .fileData(remaining: size, padding: padding)
            }
        case UInt8(ascii: "L"), UInt8(ascii: "x"):
            metadata.removeAll(keepingCapacity: true)
            if size == 0 {
                state = .header
            } else {
                state = .metadata(kind: kind, remaining: size, padding: padding)
            }
        default:
            // Directories, links, devices, global pax headers: nothing to extract, but a pending
            // long name belongs to this entry and must not leak onto the next one.
            pendingPath = nil
            state = size + padding > 0 ? .skip(remaining: size + padding) : .header
        }
    }

    /// Name, with the ustar prefix field when present (GNU tar uses those bytes for other things).
    private func invalid(_ reason: String) -> FormatError { FormatError(file: file, kind: .invalidTar(reason)) }

    private func headerPath() -> String {
        let name = Self.string(header[0 ..< 100])
        let isPOSIX = header[257 ..< 263].elementsEqual("ustar\0".utf8)
        let prefix = isPOSIX ? Self.string(header[345 ..< 500]) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// A NUL-terminated (or field-filling) string.
    private static func string(_ field: ArraySlice<UInt8>) -> String {
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[field.startIndex ..< end], as: UTF8.self)
    }

    /// An octal field (space or NUL padded), or GNU's base-256 form for sizes over 8 GiB.
    private func number(_ field: ArraySlice<UInt8>, field name: String) throws -> Int {
        if let first = field.first, first & 0x80 != 0 {
            // Base-256, big-endian two's complement after the marker bit: 0x80 starts a positive number,
            // 0xFF a negative one, which no size or checksum can be.
            guard first & 0x40 == 0 else { throw invalid("\(name) field is a negative base-256 number") }
            var value = Int(first & 0x3F)
            for byte in field.dropFirst() {
                guard value <= Int.max >> 8 else { throw invalid("\(name) field is a base-256 number over 2^63") }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0
        var sawDigit = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0") ... UInt8(ascii: "7"):
                value = value * 8 + Int(byte - UInt8(ascii: "0"))
                sawDigit = true
            case 0, UInt8(ascii: " "):
                if sawDigit { return value }
            default:
                throw invalid("\(name) field is not an octal number")
            }
        }
        return value
    }

    /// The `path` record of a pax extended header ("<length> <key>=<value>\n" records, the length
    /// counting the whole record).
    private func paxPath(_ records: [UInt8]) throws -> String? {
        var path: String?
        var offset = 0
        while offset < records.count {
            guard let space = records[offset...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: records[offset ..< space], as: UTF8.self)),
                  length > space - offset + 1, length <= records.count - offset,
                  records[offset + length - 1] == UInt8(ascii: "\n")
            else {
                throw invalid("malformed pax header record at byte \(offset) of the extended header")
            }
            let record = String(decoding: records[(space + 1) ..< (offset + length - 1)], as: UTF8.self)
            if record.hasPrefix("path=") { path = String(record.dropFirst(5)) }
            offset += length
        }
        return path
    }
}
