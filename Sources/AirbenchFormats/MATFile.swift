// A strict reader for MATLAB level-5 MAT-files (MATLAB v5/v6 uncompressed, v7 with zlib-compressed
// variables; not v7.3, which is HDF5), as MATLAB and `scipy.io.savemat` write them.
//
// Layout (MathWorks, "MAT-File Format", level 5):
//   128-byte header: 116 bytes of text, 8 bytes subsystem data offset, version 0x0100 (UInt16),
//                    endian indicator "IM" (little-endian file) or "MI" (big-endian)
//   data elements:   8-byte tag (UInt32 type, UInt32 byte count), the bytes, padding to 8 bytes;
//                    or the small format (byte count ≤ 4 in the tag's upper half, data in the next 4 bytes)
//   a variable:      miMATRIX (14) holding sub-elements: array flags (miUINT32: class, complex/global/
//                    logical bits), dimensions (miINT32), name (miINT8), real part, imaginary part if complex;
//                    or miCOMPRESSED (15): a zlib stream (no padding after it) holding one miMATRIX element
// Numeric data is column-major; its stored type may be narrower than the class (MATLAB stores a double
// array of small integers as miUINT8, for instance).

package enum MATFile {
    /// Bytes of the file header.
    package static let headerSize = 128

    /// The data types of level-5 data elements.
    package enum DataType: UInt32, Sendable {
        case int8 = 1, uint8 = 2, int16 = 3, uint16 = 4, int32 = 5, uint32 = 6, single = 7, double = 9
        case int64 = 12, uint64 = 13, matrix = 14, compressed = 15, utf8 = 16, utf16 = 17, utf32 = 18

        /// Bytes per element of a numeric type; nil for the others.
        package var numericSize: Int? {
            switch self {
            case .int8, .uint8: return 1
            case .int16, .uint16: return 2
            case .int32, .uint32, .single: return 4
            case .double, .int64, .uint64: return 8
            case .matrix, .compressed, .utf8, .utf16, .utf32: return nil
            }
        }

        /// The name in MathWorks' documentation, such as `miUINT8`.
        package var name: String {
            switch self {
            case .int8: return "miINT8"
            case .uint8: return "miUINT8"
            case .int16: return "miINT16"
            case .uint16: return "miUINT16"
            case .int32: return "miINT32"
            case .uint32: return "miUINT32"
            case .single: return "miSINGLE"
            case .double: return "miDOUBLE"
            case .int64: return "miINT64"
            case .uint64: return "miUINT64"
            case .matrix: return "miMATRIX"
            case .compressed: return "miCOMPRESSED"
            case .utf8: return "miUTF8"
            case .utf16: return "miUTF16"
            case .utf32: return "miUTF32"
            }
        }

        static func describe(_ raw: UInt32) -> String {
            DataType(rawValue: raw).map { "\($0.name) (\(raw))" } ?? "unknown type \(raw)"
        }
    }

    /// The MATLAB class of an array (the low byte of the array flags).
    package enum ArrayClass: UInt8, Sendable {
        case cell = 1, structure = 2, object = 3, char = 4, sparse = 5, double = 6, single = 7
        case int8 = 8, uint8 = 9, int16 = 10, uint16 = 11, int32 = 12, uint32 = 13, int64 = 14, uint64 = 15
        case function = 16, opaque = 17

        /// Whether the array is a plain numeric one: a real part (and an imaginary part if complex) follow the name.
        package var isNumeric: Bool { rawValue >= 6 && rawValue <= 15 }

        /// The class name as MATLAB's `class()` reports it.
        package var name: String {
            switch self {
            case .cell: return "cell"
            case .structure: return "struct"
            case .object: return "object"
            case .char: return "char"
            case .sparse: return "sparse"
            case .double: return "double"
            case .single: return "single"
            case .int8: return "int8"
            case .uint8: return "uint8"
            case .int16: return "int16"
            case .uint16: return "uint16"
            case .int32: return "int32"
            case .uint32: return "uint32"
            case .int64: return "int64"
            case .uint64: return "uint64"
            case .function: return "function handle"
            case .opaque: return "opaque object"
            }
        }
    }

    /// One variable's description. For numeric arrays `realType` is the type the real part is stored
    /// as; for the other classes the parser reads no further than the name and `realType` is nil.
    package struct Variable: Sendable {
        package var name: String
        package var arrayClass: ArrayClass
        package var isComplex: Bool
        package var isLogical: Bool
        /// The dimensions, at least two, MATLAB order (rows first).
        package var dimensions: [Int]
        /// The product of the dimensions.
        package var elementCount: Int
        package var realType: DataType?
    }

    /// Checks the header, then calls `body` with every variable of the file in order, and, for numeric
    /// arrays, the bytes of the real part (`elementCount` elements of `realType`, column-major,
    /// little-endian); empty for other classes. The bytes are valid only during the call.
    ///
    /// Every size field is checked against the bytes that remain before anything is read or allocated
    /// by it; a compressed variable is inflated only up to the size its inner tag declares, and that
    /// size must be one its compressed bytes can produce.
    ///
    /// - Parameter file: the file the bytes come from, named in errors.
    /// - Throws: `FormatError` of kind `.invalidMAT` for anything malformed, truncated or unsupported; or what
    ///   `body` throws.
    package static func forEachVariable(
        in bytes: UnsafeRawBufferPointer, file: String, _ body: (Variable, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try checkHeader(bytes, file: file)
        var offset = headerSize
        while offset < bytes.count {
            let element = try tag(in: bytes, at: offset, end: bytes.count, context: "", file: file)
            switch DataType(rawValue: element.type) {
            case .matrix?:
                let variable = UnsafeRawBufferPointer(rebasing: bytes[element.dataStart ..< element.dataStart + element.size])
                try matrix(variable, context: "miMATRIX element at byte \(offset)", file: file, body)
            case .compressed?:
                let stream = UnsafeRawBufferPointer(rebasing: bytes[element.dataStart ..< element.dataStart + element.size])
                let context = "miCOMPRESSED element at byte \(offset)"
                let inflated = try inflateVariable(stream, context: context, file: file)
                try inflated.withUnsafeBytes { inner in
                    let innerTag = try tag(in: inner, at: 0, end: inner.count, context: context + ", decompressed", file: file)
                    try matrix(
                        UnsafeRawBufferPointer(rebasing: inner[innerTag.dataStart ..< innerTag.dataStart + innerTag.size]),
                        context: context, file: file, body)
                }
            default:
                throw invalid(
                    file,
                    "byte \(offset): data element of \(DataType.describe(element.type)) at the top level; "
                        + "a MAT-file holds only miMATRIX (14) and miCOMPRESSED (15) elements there")
            }
            offset = element.next
        }
    }

    /// The value of element `index` of numeric data of `type` (little-endian), as a Double (exact for
    /// every type but 64-bit integers above 2^53).
    package static func value(_ type: DataType, in raw: UnsafeRawBufferPointer, at index: Int) -> Double {
        switch type {
        case .int8: return Double(Int8(bitPattern: raw[index]))
        case .uint8: return Double(raw[index])
        case .int16: return Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * index, as: Int16.self)))
        case .uint16: return Double(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
        case .int32: return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: Int32.self)))
        case .uint32: return Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
        case .single:
            return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))))
        case .double:
            return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)))
        case .int64: return Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: Int64.self)))
        case .uint64: return Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)))
        case .matrix, .compressed, .utf8, .utf16, .utf32: preconditionFailure("\(type.name) is not a numeric type")
        }
    }

    // MARK: - Pieces

    /// The error for `file` not being a MAT-file this parser reads, for `reason`.
    private static func invalid(_ file: String, _ reason: String) -> FormatError {
        FormatError(file: file, kind: .invalidMAT(reason))
    }

    private static func checkHeader(_ bytes: UnsafeRawBufferPointer, file: String) throws {
        guard bytes.count >= headerSize else {
            throw invalid(file, "the file is \(bytes.count) bytes, shorter than the \(headerSize)-byte MAT-file header")
        }
        let endian = (bytes[126], bytes[127])
        if endian == (UInt8(ascii: "M"), UInt8(ascii: "I")) {
            throw invalid(file, "a big-endian MAT-file (endian indicator \"MI\"); only little-endian (\"IM\") files are supported")
        }
        guard endian == (UInt8(ascii: "I"), UInt8(ascii: "M")) else {
            throw invalid(file, "not a MATLAB 5 MAT-file: no endian indicator \"IM\" at bytes 126–127")
        }
        let version = UInt16(bytes[124]) | UInt16(bytes[125]) << 8
        if version == 0x0200 {
            throw invalid(file, "a MATLAB 7.3 MAT-file (HDF5); only level-5 files (MATLAB v5 to v7, scipy.io.savemat) are supported")
        }
        guard version == 0x0100 else {
            throw invalid(file, "MAT-file version 0x\(String(version, radix: 16)) at bytes 124–125, expected 0x0100")
        }
    }

    private struct Tag {
        var type: UInt32
        var size: Int
        var dataStart: Int
        /// Where the next element starts: after the data and its padding (none after miCOMPRESSED).
        var next: Int
    }

    /// Reads the tag at `offset`, checking that the element and its padding end by `end`.
    private static func tag(
        in bytes: UnsafeRawBufferPointer, at offset: Int, end: Int, context: String, file: String
    ) throws -> Tag {
        let place = context.isEmpty ? "byte \(offset)" : "\(context), byte \(offset)"
        guard end - offset >= 8 else {
            throw invalid(file, "\(place): truncated: a data element tag needs 8 bytes, \(end - offset) remain")
        }
        let first = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
        if first >> 16 != 0 {
            // Small data element: type in the low half, byte count in the high half, data in the next 4 bytes.
            let size = Int(first >> 16)
            guard size <= 4 else {
                throw invalid(file, "\(place): a small data element declares \(size) bytes, at most 4 fit")
            }
            return Tag(type: first & 0xFFFF, size: size, dataStart: offset + 4, next: offset + 8)
        }
        let size = Int(bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian)
        let available = end - offset - 8
        guard size <= available else {
            throw invalid(
                file,
                "\(place): truncated: a data element of \(DataType.describe(first)) declares \(size) bytes, \(available) remain")
        }
        let padded = first == DataType.compressed.rawValue ? size : (size + 7) & ~7
        guard padded <= available else {
            throw invalid(file, "\(place): truncated: the padding of a \(size)-byte data element to 8 bytes is missing")
        }
        return Tag(type: first, size: size, dataStart: offset + 8, next: offset + 8 + padded)
    }

    /// Inflates a compressed variable: exactly one miMATRIX element, never more bytes than its tag declares.
    private static func inflateVariable(_ stream: UnsafeRawBufferPointer, context: String, file: String) throws -> [UInt8] {
        var output: [UInt8] = []
        var limit = 8  // the inner tag first; then the size it declares
        do {
            let consumed = try Zlib.inflate(stream, file: file) { piece in
                var piece = piece
                while !piece.isEmpty {
                    let take = min(piece.count, limit - output.count)
                    guard take > 0 else {
                        throw invalid(file, "\(context): decompresses to more than the \(limit) bytes its miMATRIX tag declares (tag included)")
                    }
                    output.append(contentsOf: piece.prefix(take))
                    piece = UnsafeRawBufferPointer(rebasing: piece.dropFirst(take))
                    if limit == 8 && output.count == 8 {
                        limit = try innerLimit(output, compressedBytes: stream.count, context: context, file: file)
                    }
                }
            }
            guard consumed == stream.count else {
                throw invalid(file, "\(context): \(stream.count - consumed) bytes follow the end of its zlib stream")
            }
        } catch let error as FormatError where error.kind.isStreamProblem {
            throw invalid(file, "\(context): \(error.kind)")
        }
        guard output.count == limit else {
            throw invalid(
                file,
                limit == 8
                    ? "\(context): decompresses to \(output.count) bytes, too few for a data element tag"
                    : "\(context): decompresses to \(output.count) bytes, but by its miMATRIX tag it must be \(limit)")
        }
        return output
    }

    /// The decompressed size a compressed variable must have, from the tag of the element inside it.
    private static func innerLimit(_ tag: [UInt8], compressedBytes: Int, context: String, file: String) throws -> Int {
        let type = UInt32(tag[0]) | UInt32(tag[1]) << 8 | UInt32(tag[2]) << 16 | UInt32(tag[3]) << 24
        guard type == DataType.matrix.rawValue else {
            throw invalid(file, "\(context): holds an element of \(DataType.describe(type)), expected miMATRIX (14)")
        }
        let size = Int(UInt32(tag[4]) | UInt32(tag[5]) << 8 | UInt32(tag[6]) << 16 | UInt32(tag[7]) << 24)
        guard Zlib.canHold(8 + size, compressedBytes: compressedBytes) else {
            throw invalid(
                file,
                "\(context): its miMATRIX tag declares \(size) bytes, more than \(compressedBytes) compressed bytes can hold")
        }
        return 8 + size
    }

    /// Parses the sub-elements of one miMATRIX element (`bytes` is its data, without the tag).
    private static func matrix(
        _ bytes: UnsafeRawBufferPointer, context: String, file: String,
        _ body: (Variable, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        func fail(_ reason: String) -> FormatError { invalid(file, "\(context): \(reason)") }
        func subelement(_ offset: Int) throws -> Tag {
            try tag(in: bytes, at: offset, end: bytes.count, context: context, file: file)
        }

        let flags = try subelement(0)
        guard flags.type == DataType.uint32.rawValue, flags.size == 8 else {
            throw fail("array flags must be an 8-byte miUINT32 element, found \(flags.size) bytes of \(DataType.describe(flags.type))")
        }
        let flagWord = bytes.loadUnaligned(fromByteOffset: flags.dataStart, as: UInt32.self).littleEndian
        let classByte = UInt8(flagWord & 0xFF)
        guard let arrayClass = ArrayClass(rawValue: classByte) else {
            throw fail("unknown array class \(classByte)")
        }
        let isComplex = flagWord & 0x800 != 0
        let isLogical = flagWord & 0x200 != 0

        let dims = try subelement(flags.next)
        guard dims.type == DataType.int32.rawValue, dims.size % 4 == 0, dims.size >= 8 else {
            throw fail("dimensions must be a miINT32 element of at least two entries, found \(dims.size) bytes of \(DataType.describe(dims.type))")
        }
        var dimensions: [Int] = []
        var elementCount = 1
        for index in 0 ..< dims.size / 4 {
            let dimension = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: dims.dataStart + 4 * index, as: Int32.self)))
            guard dimension >= 0 else { throw fail("dimension \(index + 1) is \(dimension)") }
            let product = elementCount.multipliedReportingOverflow(by: dimension)
            guard !product.overflow else { throw fail("the dimensions \(dimensions + [dimension]) overflow") }
            elementCount = product.partialValue
            dimensions.append(dimension)
        }

        let nameTag = try subelement(dims.next)
        guard nameTag.type == DataType.int8.rawValue else {
            throw fail("the array name must be a miINT8 element, found \(DataType.describe(nameTag.type))")
        }
        let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[nameTag.dataStart ..< nameTag.dataStart + nameTag.size])
        // MATLAB names are letters, digits and underscores; anything outside printable ASCII is damage.
        guard nameBytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw fail("the array name is not printable ASCII")
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        let context = "\(context) (variable '\(name)')"
        func failNamed(_ reason: String) -> FormatError { invalid(file, "\(context): \(reason)") }
        var variable = Variable(
            name: name, arrayClass: arrayClass, isComplex: isComplex, isLogical: isLogical, dimensions: dimensions,
            elementCount: elementCount, realType: nil)
        guard arrayClass.isNumeric else {
            return try body(variable, UnsafeRawBufferPointer(start: nil, count: 0))
        }

        /// The real or imaginary part at `offset`: numeric, exactly `elementCount` elements.
        func part(at offset: Int, what: String) throws -> (type: DataType, tag: Tag) {
            let part = try tag(in: bytes, at: offset, end: bytes.count, context: context, file: file)
            guard let type = DataType(rawValue: part.type), let size = type.numericSize else {
                throw failNamed("the \(what) part is \(DataType.describe(part.type)), not a numeric type")
            }
            let (needed, overflow) = elementCount.multipliedReportingOverflow(by: size)
            guard !overflow, part.size == needed else {
                throw failNamed("the \(what) part holds \(part.size) bytes of \(type.name), but \(dimensions) needs \(elementCount) elements")
            }
            return (type, part)
        }
        let real = try part(at: nameTag.next, what: "real")
        var end = real.tag.next
        if isComplex {
            end = try part(at: end, what: "imaginary").tag.next
        }
        guard end == bytes.count else {
            throw failNamed("\(bytes.count - end) unexpected bytes after the array data")
        }
        variable.realType = real.type
        try body(variable, UnsafeRawBufferPointer(rebasing: bytes[real.tag.dataStart ..< real.tag.dataStart + real.tag.size]))
    }
}
