// Reading and writing the safetensors file format, used for checkpoints and for the PyTorch
// reference fixtures.
//
// Layout (https://github.com/huggingface/safetensors, "Format"):
//   8 bytes   little-endian UInt64 N, the header length
//   N bytes   UTF-8 JSON object: tensor name -> {"dtype", "shape", "data_offsets": [begin, end]},
//             plus an optional "__metadata__" object of string -> string;
//             may be padded at the end with spaces
//   rest      the tensor bytes, little-endian, with offsets counted from the first byte after the header

import Foundation

/// A set of named tensors plus string metadata, as stored in a `.safetensors` file.
///
/// Floating-point tensors are held as `[Float]` and integer tensors as `[Int]`. Reading accepts the
/// dtypes `F32`, `F64`, `F16` and `BF16` (all converted to `Float`) and `I64`, `I32` (kept exactly as
/// `Int`). Writing stores floating-point tensors as `F32` and integer tensors as `I64`, so a file
/// written here loads with `safetensors.torch.load_file`.
public struct SafetensorsFile: Sendable, Equatable {
    /// One tensor: its shape (outermost dimension first, row-major) and its elements.
    public struct Tensor: Sendable, Equatable {
        /// The element storage; which case depends on whether the dtype is floating point or integer.
        public enum Values: Sendable, Equatable {
            /// Floating-point elements (F32 on disk when written; F64/F16/BF16 are converted on reading).
            case floats([Float])
            /// Integer elements (I64 on disk when written; I32 is widened on reading).
            case integers([Int])

            /// The number of elements.
            public var count: Int {
                switch self {
                case .floats(let values): return values.count
                case .integers(let values): return values.count
                }
            }
        }

        /// The dimensions, outermost first. An empty shape is a scalar with one element.
        public var shape: [Int]
        /// The elements in row-major order.
        public var values: Values

        /// Creates a tensor, checking that the element count matches the shape.
        public init(shape: [Int], values: Values) {
            precondition(shape.allSatisfy { $0 >= 0 }, "Tensor dimensions must not be negative: \(shape)")
            precondition(
                Self.elementCount(of: shape) == values.count,
                "Shape \(shape) needs \(Self.elementCount(of: shape)) elements, got \(values.count)")
            self.shape = shape
            self.values = values
        }

        /// The number of elements a tensor of `shape` holds (1 for a scalar).
        public static func elementCount(of shape: [Int]) -> Int {
            shape.reduce(1, *)
        }
    }

    /// Free-form string metadata, stored under the `__metadata__` header key.
    public var metadata: [String: String]
    /// The tensors by name.
    public var tensors: [String: Tensor]

    /// Creates a file with the given metadata and tensors.
    public init(metadata: [String: String] = [:], tensors: [String: Tensor] = [:]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor names in the order they are written: sorted by Unicode scalar values, so output is
    /// the same on every platform and run.
    public var names: [String] {
        tensors.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// Whether a tensor called `name` is present.
    public func contains(_ name: String) -> Bool {
        tensors[name] != nil
    }

    /// Stores floating-point `values` of the given `shape` under `name`, replacing any tensor there.
    public mutating func setFloats(_ values: [Float], shape: [Int], for name: String) {
        tensors[name] = Tensor(shape: shape, values: .floats(values))
    }

    /// Stores integer `values` of the given `shape` under `name`, replacing any tensor there.
    public mutating func setIntegers(_ values: [Int], shape: [Int], for name: String) {
        tensors[name] = Tensor(shape: shape, values: .integers(values))
    }

    /// The shape of the tensor `name`.
    /// - Throws: `SafetensorsError` with kind `.missingTensor` if there is none.
    public func shape(_ name: String) throws -> [Int] {
        try tensor(name).shape
    }

    /// The elements of tensor `name` as `Float`; integer tensors are converted.
    /// - Throws: `SafetensorsError` with kind `.missingTensor` if there is no such tensor.
    public func floats(_ name: String) throws -> [Float] {
        switch try tensor(name).values {
        case .floats(let values): return values
        case .integers(let values): return values.map { Float($0) }
        }
    }

    /// The elements of tensor `name` as `Int`. Floating-point tensors are accepted only when every
    /// element is a whole number (labels are sometimes stored as floats).
    /// - Throws: `SafetensorsError` with kind `.missingTensor`, or `.notIntegral` for a
    ///   floating-point tensor holding a fractional or non-finite value.
    public func integers(_ name: String) throws -> [Int] {
        switch try tensor(name).values {
        case .integers(let values):
            return values
        case .floats(let values):
            var result = [Int]()
            result.reserveCapacity(values.count)
            for value in values {
                // Int(exactly:) rejects fractions, infinities, NaN and out-of-range magnitudes alike.
                guard let integer = Int(exactly: value) else {
                    throw SafetensorsError(file: sourceDescription, kind: .notIntegral(tensor: name))
                }
                result.append(integer)
            }
            return result
        }
    }

    /// Where this file came from, for error messages; set by `read(from:)`.
    public var sourceDescription: String = "<memory>"

    /// Equality compares metadata and tensors, not where the file was read from.
    public static func == (lhs: SafetensorsFile, rhs: SafetensorsFile) -> Bool {
        lhs.metadata == rhs.metadata && lhs.tensors == rhs.tensors
    }

    private func tensor(_ name: String) throws -> Tensor {
        guard let tensor = tensors[name] else {
            throw SafetensorsError(file: sourceDescription, kind: .missingTensor(name: name))
        }
        return tensor
    }
}

// MARK: - Errors

/// A failure to read or write a safetensors file; the description names the file and the problem.
public struct SafetensorsError: Error, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// The file is shorter than the 8-byte header length field.
        case tooShort(byteCount: Int)
        /// The header length field points past the end of the file.
        case headerBeyondFile(headerLength: UInt64, fileLength: Int)
        /// The header is not valid UTF-8 JSON of the expected form.
        case badHeader(reason: String)
        /// A tensor's `data_offsets` are reversed or reach beyond the data section.
        case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataLength: Int)
        /// Two tensors claim some of the same bytes.
        case overlappingTensors(first: String, second: String)
        /// A dtype this reader does not know.
        case unknownDType(tensor: String, dtype: String)
        /// The shape times the dtype size differs from the byte range length.
        case sizeMismatch(tensor: String, shape: [Int], dtype: String, byteLength: Int)
        /// No tensor of this name in the file.
        case missingTensor(name: String)
        /// An integer was asked for but the tensor holds fractional or non-finite values.
        case notIntegral(tensor: String)
        /// The file system refused a read, write or rename.
        case fileSystem(reason: String)
    }

    /// The file (path or `<memory>`) the error concerns.
    public let file: String
    /// What went wrong.
    public let kind: Kind

    /// Creates an error about `file`.
    public init(file: String, kind: Kind) {
        self.file = file
        self.kind = kind
    }

    public var description: String {
        let problem: String
        switch kind {
        case .tooShort(let count):
            problem = "file is \(count) bytes, too short to hold the 8-byte header length"
        case .headerBeyondFile(let headerLength, let fileLength):
            problem = "header length \(headerLength) reaches beyond the end of the \(fileLength)-byte file"
        case .badHeader(let reason):
            problem = "bad JSON header: \(reason)"
        case .offsetsOutOfRange(let tensor, let begin, let end, let dataLength):
            problem = "tensor '\(tensor)' has data_offsets [\(begin), \(end)] outside the \(dataLength)-byte data section"
        case .overlappingTensors(let first, let second):
            problem = "tensors '\(first)' and '\(second)' overlap"
        case .unknownDType(let tensor, let dtype):
            problem = "tensor '\(tensor)' has unsupported dtype '\(dtype)'"
        case .sizeMismatch(let tensor, let shape, let dtype, let byteLength):
            problem = "tensor '\(tensor)' of shape \(shape) and dtype \(dtype) does not fill its \(byteLength) bytes"
        case .missingTensor(let name):
            problem = "no tensor named '\(name)'"
        case .notIntegral(let tensor):
            problem = "tensor '\(tensor)' holds values that are not whole numbers"
        case .fileSystem(let reason):
            problem = reason
        }
        return "\(file): \(problem)"
    }
}

// MARK: - Writing

extension SafetensorsFile {
    /// The complete file contents: header length, JSON header (padded with spaces to a multiple of
    /// 8 bytes, as the reference writer does, so the data section is aligned), then the tensor bytes.
    ///
    /// The header lists `__metadata__` first (omitted when empty), then the tensors in `names` order,
    /// and the data is packed in that same order; JSON has no spaces. Identical contents therefore
    /// always give identical bytes.
    public func serialized() -> [UInt8] {
        var header = "{"
        var isFirstEntry = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            let keys = metadata.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            header += keys.map { "\(JSONText.quoted($0)):\(JSONText.quoted(metadata[$0]!))" }.joined(separator: ",")
            header += "}"
            isFirstEntry = false
        }
        var offset = 0
        let orderedNames = names
        for name in orderedNames {
            let tensor = tensors[name]!
            let (dtype, size) = Self.writtenDType(of: tensor.values)
            let end = offset + tensor.values.count * size
            if !isFirstEntry { header += "," }
            isFirstEntry = false
            header += "\(JSONText.quoted(name)):{\"dtype\":\"\(dtype)\",\"shape\":["
            header += tensor.shape.map(String.init).joined(separator: ",")
            header += "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        header += "}"

        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + headerBytes.count + offset)
        appendLittleEndian(UInt64(headerBytes.count), to: &bytes)
        bytes += headerBytes
        for name in orderedNames {
            switch tensors[name]!.values {
            case .floats(let values):
                for value in values { appendLittleEndian(value.bitPattern, to: &bytes) }
            case .integers(let values):
                for value in values { appendLittleEndian(UInt64(bitPattern: Int64(value)), to: &bytes) }
            }
        }
        return bytes
    }

    /// Writes the file to `url` atomically: the bytes go to a temporary file in the same folder,
    /// which is flushed to disk and then renamed over `url`, so readers never see a half-written
    /// checkpoint even if the process dies mid-write.
    /// - Throws: `SafetensorsError` with kind `.fileSystem` naming `url` when any step fails.
    public func write(to url: URL) throws {
        do {
            try writeFileAtomically(Data(serialized()), to: url)
        } catch let error as AtomicWriteError {
            throw SafetensorsError(file: url.standardizedFileURL.path, kind: .fileSystem(reason: error.reason))
        }
    }

    private static func writtenDType(of values: Tensor.Values) -> (name: String, size: Int) {
        switch values {
        case .floats: return ("F32", 4)
        case .integers: return ("I64", 8)
        }
    }
}

private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

// MARK: - Reading

extension SafetensorsFile {
    /// Reads the file at `url`.
    /// - Throws: `SafetensorsError` naming the file when it cannot be read or is malformed.
    public static func read(from url: URL) throws -> SafetensorsFile {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafetensorsError(file: url.path, kind: .fileSystem(reason: "cannot read: \(error)"))
        }
        var file = try data.withUnsafeBytes { try parse(UnsafeRawBufferPointer($0), source: url.path) }
        file.sourceDescription = url.path
        return file
    }

    /// Parses complete file contents; `source` names them in errors.
    /// - Throws: `SafetensorsError` describing the first problem found.
    public static func parse(_ bytes: [UInt8], source: String = "<memory>") throws -> SafetensorsFile {
        var file = try bytes.withUnsafeBytes { try parse($0, source: source) }
        file.sourceDescription = source
        return file
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, source: String) throws -> SafetensorsFile {
        func fail(_ kind: SafetensorsError.Kind) -> SafetensorsError {
            SafetensorsError(file: source, kind: kind)
        }
        guard bytes.count >= 8 else { throw fail(.tooShort(byteCount: bytes.count)) }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail(.headerBeyondFile(headerLength: headerLength, fileLength: bytes.count))
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = bytes.count - dataStart

        let headerSlice = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        guard let headerText = String(bytes: headerSlice, encoding: .utf8) else {
            throw fail(.badHeader(reason: "not valid UTF-8"))
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(headerText)
        } catch let error as JSONParser.Failure {
            throw fail(.badHeader(reason: error.reason))
        }
        guard case .object(let entries) = root else {
            throw fail(.badHeader(reason: "top level is not an object"))
        }

        var file = SafetensorsFile()
        var ranges: [(name: String, begin: Int, end: Int)] = []
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw fail(.badHeader(reason: "__metadata__ is not an object"))
                }
                for (key, item) in pairs {
                    guard case .string(let text) = item else {
                        throw fail(.badHeader(reason: "__metadata__ value for '\(key)' is not a string"))
                    }
                    file.metadata[key] = text
                }
                continue
            }
            let info = try TensorInfo(name: name, json: value, source: source)
            guard info.begin >= 0, info.begin <= info.end, info.end <= dataLength else {
                throw fail(.offsetsOutOfRange(tensor: name, begin: info.begin, end: info.end, dataLength: dataLength))
            }
            guard let dtype = StoredDType(rawValue: info.dtype) else {
                throw fail(.unknownDType(tensor: name, dtype: info.dtype))
            }
            let (count, overflow) = info.shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let (byteCount, byteOverflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, !byteOverflow, byteCount == info.end - info.begin else {
                throw fail(.sizeMismatch(
                    tensor: name, shape: info.shape, dtype: info.dtype, byteLength: info.end - info.begin))
            }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + info.begin)..<(dataStart + info.end)])
            file.tensors[name] = Tensor(shape: info.shape, values: dtype.decode(raw, count: count))
            ranges.append((name, info.begin, info.end))
        }

        // Empty tensors occupy no bytes, so they cannot overlap anything.
        let occupied = ranges.filter { $0.begin < $0.end }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (previous, next) in zip(occupied, occupied.dropFirst()) where next.begin < previous.end {
            throw fail(.overlappingTensors(first: previous.name, second: next.name))
        }
        return file
    }
}

/// The header entry of one tensor, before its bytes are looked at.
private struct TensorInfo {
    var dtype: String
    var shape: [Int]
    var begin: Int
    var end: Int

    init(name: String, json: JSONValue, source: String) throws {
        func fail(_ reason: String) -> SafetensorsError {
            SafetensorsError(file: source, kind: .badHeader(reason: "tensor '\(name)': \(reason)"))
        }
        guard case .object(let fields) = json else { throw fail("entry is not an object") }
        let lookup = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        guard case .string(let dtype)? = lookup["dtype"] else { throw fail("missing string 'dtype'") }
        guard case .array(let shapeItems)? = lookup["shape"] else { throw fail("missing array 'shape'") }
        guard case .array(let offsetItems)? = lookup["data_offsets"], offsetItems.count == 2 else {
            throw fail("missing two-element array 'data_offsets'")
        }
        var shape = [Int]()
        for item in shapeItems {
            guard case .integer(let dimension) = item, dimension >= 0 else {
                throw fail("shape entries must be non-negative integers")
            }
            shape.append(dimension)
        }
        guard case .integer(let begin) = offsetItems[0], case .integer(let end) = offsetItems[1] else {
            throw fail("data_offsets must be integers")
        }
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.end = end
    }
}

/// The on-disk element types this reader understands.
private enum StoredDType: String {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32"

    var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        }
    }

    func decode(_ raw: UnsafeRawBufferPointer, count: Int) -> SafetensorsFile.Tensor.Values {
        // loadUnaligned because the data section need not be aligned in files from other writers.
        func load<T: FixedWidthInteger>(_ index: Int, as type: T.Type) -> T {
            T(littleEndian: raw.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
        }
        switch self {
        case .f32:
            return .floats((0..<count).map { Float(bitPattern: load($0, as: UInt32.self)) })
        case .f64:
            return .floats((0..<count).map { Float(Double(bitPattern: load($0, as: UInt64.self))) })
        case .f16:
            return .floats((0..<count).map { floatFromHalfBits(load($0, as: UInt16.self)) })
        case .bf16:
            // bfloat16 is the top half of a float32.
            return .floats((0..<count).map { Float(bitPattern: UInt32(load($0, as: UInt16.self)) << 16) })
        case .i64:
            return .integers((0..<count).map { Int(Int64(bitPattern: load($0, as: UInt64.self))) })
        case .i32:
            return .integers((0..<count).map { Int(Int32(bitPattern: load($0, as: UInt32.self))) })
        }
    }
}

/// Converts IEEE 754 binary16 bits to Float by hand, because `Float16` is not available on every
/// platform Swift supports (notably macOS on Intel).
private func floatFromHalfBits(_ bits: UInt16) -> Float {
    let sign: Float = (bits & 0x8000) != 0 ? -1 : 1
    let exponent = Int((bits >> 10) & 0x1F)
    let fraction = Float(bits & 0x3FF)
    switch exponent {
    case 0:
        // Zero or subnormal: fraction × 2^-24, exact in Float.
        return sign * fraction * 0x1p-24
    case 0x1F:
        return fraction == 0 ? sign * .infinity : .nan
    default:
        return sign * (1 + fraction / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
    }
}

// MARK: - JSON

/// The subset of JSON values a safetensors header needs; other numbers parse as `.number`.
private indirect enum JSONValue {
    /// Members in file order; duplicates are rejected by the parser.
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null
}

/// A small strict JSON parser (RFC 8259), written here rather than using Foundation's so that
/// integers are read exactly, duplicate keys are caught and the behaviour is the same everywhere.
private struct JSONParser {
    struct Failure: Error {
        var reason: String
    }

    private let scalars: [Unicode.Scalar]
    private var position = 0

    static func parse(_ text: String) throws -> JSONValue {
        var parser = JSONParser(scalars: Array(text.unicodeScalars))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.scalars.count else {
            throw parser.failure("unexpected text after the JSON value")
        }
        return value
    }

    private init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    private func failure(_ reason: String) -> Failure {
        Failure(reason: "\(reason) at character \(position)")
    }

    private var current: Unicode.Scalar? {
        position < scalars.count ? scalars[position] : nil
    }

    private mutating func skipWhitespace() {
        while let scalar = current, scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
            position += 1
        }
    }

    private mutating func expect(_ scalar: Unicode.Scalar) throws {
        guard current == scalar else { throw failure("expected '\(scalar)'") }
        position += 1
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        // Headers are two levels deep; the limit only guards the stack against hostile input.
        guard depth < 64 else { throw failure("nesting too deep") }
        switch current {
        case "{": return try parseObject(depth: depth)
        case "[": return try parseArray(depth: depth)
        case "\"": return .string(try parseString())
        case "t": try parseLiteral("true"); return .bool(true)
        case "f": try parseLiteral("false"); return .bool(false)
        case "n": try parseLiteral("null"); return .null
        case .some(let scalar) where scalar == "-" || ("0"..."9").contains(scalar): return try parseNumber()
        case .some: throw failure("unexpected character")
        case .none: throw failure("unexpected end of header")
        }
    }

    private mutating func parseLiteral(_ word: String) throws {
        for scalar in word.unicodeScalars {
            guard current == scalar else { throw failure("invalid literal") }
            position += 1
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        try expect("{")
        var members: [(String, JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if current == "}" {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == "\"" else { throw failure("expected a string key") }
            let key = try parseString()
            guard seen.insert(key).inserted else { throw failure("duplicate key '\(key)'") }
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            if current == "," {
                position += 1
                continue
            }
            try expect("}")
            return .object(members)
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        try expect("[")
        var items: [JSONValue] = []
        skipWhitespace()
        if current == "]" {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if current == "," {
                position += 1
                continue
            }
            try expect("]")
            return .array(items)
        }
    }

    private mutating func parseString() throws -> String {
        try expect("\"")
        var result = String.UnicodeScalarView()
        while true {
            guard let scalar = current else { throw failure("unterminated string") }
            position += 1
            switch scalar {
            case "\"":
                return String(result)
            case "\\":
                guard let escaped = current else { throw failure("unterminated escape") }
                position += 1
                switch escaped {
                case "\"": result.append("\"")
                case "\\": result.append("\\")
                case "/": result.append("/")
                case "b": result.append("\u{08}")
                case "f": result.append("\u{0C}")
                case "n": result.append("\n")
                case "r": result.append("\r")
                case "t": result.append("\t")
                case "u": result.append(try parseUnicodeEscape())
                default: throw failure("invalid escape '\\\(escaped)'")
                }
            default:
                guard scalar.value >= 0x20 else { throw failure("unescaped control character in string") }
                result.append(scalar)
            }
        }
    }

    /// Parses the hex digits after `\u`, joining a UTF-16 surrogate pair into one scalar.
    private mutating func parseUnicodeEscape() throws -> Unicode.Scalar {
        let first = try parseHexQuad()
        if (0xD800..<0xDC00).contains(first) {
            guard current == "\\" else { throw failure("lone high surrogate") }
            position += 1
            try expect("u")
            let second = try parseHexQuad()
            guard (0xDC00..<0xE000).contains(second) else { throw failure("invalid low surrogate") }
            let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            return Unicode.Scalar(combined)!
        }
        guard let scalar = Unicode.Scalar(first) else { throw failure("lone low surrogate") }
        return scalar
    }

    private mutating func parseHexQuad() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let scalar = current, let digit = Int(String(scalar), radix: 16) else {
                throw failure("expected four hex digits")
            }
            value = value * 16 + UInt32(digit)
            position += 1
        }
        return value
    }

    /// Advances over decimal digits and returns how many there were.
    private mutating func skipDigits() -> Int {
        var count = 0
        while let scalar = current, ("0"..."9").contains(scalar) {
            position += 1
            count += 1
        }
        return count
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        var isInteger = true
        if current == "-" { position += 1 }
        let integerDigitsStart = position
        guard skipDigits() > 0 else { throw failure("invalid number") }
        if scalars[integerDigitsStart] == "0" && position - integerDigitsStart > 1 {
            throw failure("leading zero in number")
        }
        if current == "." {
            isInteger = false
            position += 1
            guard skipDigits() > 0 else { throw failure("invalid number") }
        }
        if current == "e" || current == "E" {
            isInteger = false
            position += 1
            if current == "+" || current == "-" { position += 1 }
            guard skipDigits() > 0 else { throw failure("invalid number") }
        }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[start..<position])
        let literal = String(text)
        if isInteger {
            guard let value = Int(literal) else { throw failure("integer \(literal) out of range") }
            return .integer(value)
        }
        guard let value = Double(literal) else { throw failure("invalid number \(literal)") }
        return .number(value)
    }
}

/// JSON string quoting for the header writer.
private enum JSONText {
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
