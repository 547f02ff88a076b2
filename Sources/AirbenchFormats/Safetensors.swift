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
    /// - Throws: `FormatError` of kind `.missingTensor` if there is none.
    public func shape(_ name: String) throws -> [Int] {
        try tensor(name).shape
    }

    /// The elements of tensor `name` as `Float`; integer tensors are converted.
    /// - Throws: `FormatError` of kind `.missingTensor` if there is no such tensor.
    public func floats(_ name: String) throws -> [Float] {
        switch try tensor(name).values {
        case .floats(let values): return values
        case .integers(let values): return values.map { Float($0) }
        }
    }

    /// The elements of tensor `name` as `Int`. Floating-point tensors are accepted only when every
    /// element is a whole number (labels are sometimes stored as floats).
    /// - Throws: `FormatError` of kind `.missingTensor`, or `.notIntegral` for a
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
                    throw FormatError(file: sourceDescription, kind: .notIntegral(tensor: name))
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
            throw FormatError(file: sourceDescription, kind: .missingTensor(name: name))
        }
        return tensor
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
    /// - Throws: `FormatError` of kind `.fileSystem` naming `url` when any step fails.
    public func write(to url: URL) throws {
        try writeFileAtomically(Data(serialized()), to: url)
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
    /// - Throws: `FormatError` naming the file when it cannot be read or is malformed.
    public static func read(from url: URL) throws -> SafetensorsFile {
        let data = try readFile(url, options: .mappedIfSafe)
        var file = try data.withUnsafeBytes { try parse(UnsafeRawBufferPointer($0), source: url.path) }
        file.sourceDescription = url.path
        return file
    }

    /// Parses complete file contents; `source` names them in errors.
    /// - Throws: `FormatError` describing the first problem found.
    public static func parse(_ bytes: [UInt8], source: String = "<memory>") throws -> SafetensorsFile {
        var file = try bytes.withUnsafeBytes { try parse($0, source: source) }
        file.sourceDescription = source
        return file
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, source: String) throws -> SafetensorsFile {
        func fail(_ kind: FormatError.Kind) -> FormatError {
            FormatError(file: source, kind: kind)
        }
        guard bytes.count >= 8 else { throw fail(.tooShort(byteCount: bytes.count)) }
        // The length field is checked against the file before anything is read or allocated by it.
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail(.headerBeyondFile(headerLength: headerLength, fileLength: bytes.count))
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = bytes.count - dataStart

        let header = try SafetensorsHeader(json: Data(bytes[8 ..< dataStart]), file: source)

        var file = SafetensorsFile(metadata: header.metadata)
        for (name, info) in header.tensors {
            guard info.begin >= 0, info.begin <= info.end, info.end <= dataLength else {
                throw fail(.offsetsOutOfRange(tensor: name, begin: info.begin, end: info.end, dataLength: dataLength))
            }
            guard let dtype = StoredDType(rawValue: info.dtype) else {
                throw fail(.unknownDType(tensor: name, dtype: info.dtype))
            }
            // Overflow-checked: a hostile shape must not wrap around to match a small byte range.
            let (count, overflow) = info.shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let (byteCount, byteOverflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, !byteOverflow, byteCount == info.end - info.begin else {
                throw fail(.sizeMismatch(
                    tensor: name, shape: info.shape, dtype: info.dtype, byteLength: info.end - info.begin))
            }
            // Only now, with the element count bounded by the file size, is anything allocated.
            let raw = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + info.begin)..<(dataStart + info.end)])
            file.tensors[name] = Tensor(shape: info.shape, values: dtype.decode(raw, count: count))
        }

        // The tensors must tile the data section: no byte claimed twice, none left over (the rule of
        // the reference implementation). Empty tensors occupy no bytes.
        let occupied = header.tensors.filter { $0.info.begin < $0.info.end }
            .sorted { ($0.info.begin, $0.name) < ($1.info.begin, $1.name) }
        var covered = 0
        var previous: String?
        for (name, info) in occupied {
            if info.begin < covered, let previous {
                throw fail(.overlappingTensors(first: previous, second: name))
            }
            if info.begin > covered {
                throw fail(.unclaimedData(begin: covered, end: info.begin, dataLength: dataLength))
            }
            covered = info.end
            previous = name
        }
        if covered < dataLength {
            throw fail(.unclaimedData(begin: covered, end: dataLength, dataLength: dataLength))
        }
        return file
    }
}

/// The JSON header, decoded with Foundation: `JSONSerialization` checks the syntax (its messages
/// give the position), then `JSONDecoder` reads the fields with exact integer types.
private struct SafetensorsHeader {
    /// One tensor's entry, before its bytes are looked at.
    struct TensorInfo {
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    var metadata: [String: String] = [:]
    /// In the order of `SafetensorsFile.names`, so the first problem reported does not depend on hashing.
    var tensors: [(name: String, info: TensorInfo)] = []

    private init() {}

    /// Decodes the header of `file` (named in errors).
    ///
    /// - Throws: `FormatError` of kind `.badHeader` saying why the header is unusable.
    init(json: Data, file: String) throws {
        func bad(_ reason: String) -> FormatError { FormatError(file: file, kind: .badHeader(reason: reason)) }
        guard String(bytes: json, encoding: .utf8) != nil else { throw bad("not valid UTF-8") }
        // JSONSerialization would also accept UTF-16 and UTF-32, which it recognises by their zero
        // bytes; UTF-8 JSON never holds one (a raw NUL is not allowed even inside a string).
        guard !json.contains(0) else { throw bad("not UTF-8 JSON: holds a NUL byte") }
        let topLevel: Any
        do {
            topLevel = try JSONSerialization.jsonObject(with: json)
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw bad("not valid JSON" + (detail.map { ": \($0)" } ?? ""))
        }
        guard topLevel is [String: Any] else { throw bad("top level is not an object") }

        // JSON objects may repeat a key and Foundation keeps only one of them; a header that names a
        // tensor (or a field) twice is ambiguous, so every key the decoder meets is logged, with its path.
        let keys = KeyLog()
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in
            keys.record(path.map(\.stringValue))
            return path.last!
        }
        let decoded: Decoded
        do {
            decoded = try decoder.decode(Decoded.self, from: json)
        } catch {
            throw bad("cannot decode: \(decodingReason(error))")
        }
        if let problem = decoded.problem { throw bad(problem) }
        if let duplicate = keys.firstDuplicate {
            throw bad("duplicate key '\(duplicate.joined(separator: "."))'")
        }
        self = decoded.header
    }

    /// Decodes the fields one by one so that each problem gets its own message: the first one found stops
    /// the decoding and is kept in `problem` (the file's name, which the error needs, is not known here).
    private struct Decoded: Decodable {
        var header = SafetensorsHeader()
        var problem: String?

        init(from decoder: Decoder) throws {
            let root = try decoder.container(keyedBy: Key.self)
            let names = root.allKeys.map(\.stringValue)
                .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            for name in names {
                let key = Key(name)
                if name == "__metadata__" {
                    guard let pairs = try? root.nestedContainer(keyedBy: Key.self, forKey: key) else {
                        problem = "__metadata__ is not an object"
                        return
                    }
                    for item in pairs.allKeys {
                        guard let text = try? pairs.decode(String.self, forKey: item) else {
                            problem = "__metadata__ value for '\(item.stringValue)' is not a string"
                            return
                        }
                        header.metadata[item.stringValue] = text
                    }
                    continue
                }
                func tensorProblem(_ reason: String) -> String { "tensor '\(name)': \(reason)" }
                guard let fields = try? root.nestedContainer(keyedBy: Key.self, forKey: key) else {
                    problem = tensorProblem("entry is not an object")
                    return
                }
                guard let dtype = try? fields.decode(String.self, forKey: Key("dtype")) else {
                    problem = tensorProblem("missing string 'dtype'")
                    return
                }
                guard let shape = try? fields.decode([Int].self, forKey: Key("shape")) else {
                    problem = tensorProblem("missing array 'shape' of integers")
                    return
                }
                guard shape.allSatisfy({ $0 >= 0 }) else {
                    problem = tensorProblem("shape entries must be non-negative integers")
                    return
                }
                guard let offsets = try? fields.decode([Int].self, forKey: Key("data_offsets")), offsets.count == 2 else {
                    problem = tensorProblem("missing two-element integer array 'data_offsets'")
                    return
                }
                header.tensors.append((name, TensorInfo(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])))
            }
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The key paths the decoder met, in order; a path met twice is a repeated key.
    private final class KeyLog: @unchecked Sendable {
        private let lock = NSLock()
        private var seen = Set<[String]>()
        private var duplicate: [String]?

        func record(_ path: [String]) {
            lock.withLock {
                if !seen.insert(path).inserted, duplicate == nil { duplicate = path }
            }
        }

        var firstDuplicate: [String]? { lock.withLock { duplicate } }
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
