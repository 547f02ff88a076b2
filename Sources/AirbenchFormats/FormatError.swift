/// Why a file cannot be read or written: which file, and what is wrong with it.
///
/// The one error type of AirbenchFormats. Every reader and writer here (the data sets' files, gzip, zlib, tar,
/// PNG, MAT-files, safetensors, atomic writes) throws it, and its description starts with the file, so the
/// message alone says what to fix. The byte-level decoders are handed the name of the file they decode for
/// that reason; a decoder nested in another (zlib inside PNG or a MAT-file) has its problem restated as the
/// outer format's, with where in the file it happened.
public struct FormatError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with the file.
    public enum Kind: Equatable, Sendable, CustomStringConvertible {
        // MARK: Files and folders

        /// A file of the data set is not there; `expected` lists the files its folder holds.
        case missingFile(dataSet: String, expected: [String])
        /// A folder of the data set is not there; `expected` lists the folders beside it.
        case missingFolder(dataSet: String, expected: [String])
        /// The file system refused a read, write, rename or listing.
        case fileSystem(reason: String)

        // MARK: Data-set files

        /// A record file's size is not a multiple of its record: it was cut off mid-record.
        case truncatedRecord(recordSize: Int, size: Int)
        /// A file or class folder holds no image: an empty file is what an interrupted copy leaves behind.
        case noImages
        /// Record `record`'s label (`label` names which: "label", "fine label", "coarse label") is not below `classCount`.
        case invalidLabel(record: Int, label: String, value: UInt8, classCount: Int)
        /// SVHN's `y` entry `index` (0-based) is not a whole number 1–10.
        case invalidDigitLabel(index: Int, value: Double)
        /// An image is not 32 × 32.
        case wrongImageSize(width: Int, height: Int)
        /// A CINIC-10 class folder holds something other than PNG files.
        case unexpectedEntry(reason: String)
        /// An SVHN file has no variable of this name.
        case missingVariable(name: String)
        /// An SVHN variable has the wrong class, storage or size.
        case badVariable(name: String, reason: String)
        /// SVHN's `X` and `y` disagree on the number of images.
        case countMismatch(images: Int, labels: Int)

        // MARK: Container formats

        /// Not a PNG this decoder reads: damaged, or of an unsupported kind (the reason says which, and where).
        case invalidPNG(String)
        /// Not a readable MATLAB level-5 MAT-file: truncated, damaged or of an unsupported kind.
        case invalidMAT(String)
        /// The data ended before a gzip, zlib or tar stream did.
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

        // MARK: safetensors

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
        /// Bytes `begin..<end` of the data section belong to no tensor: the tensors must tile it.
        case unclaimedData(begin: Int, end: Int, dataLength: Int)
        /// A dtype this reader does not know.
        case unknownDType(tensor: String, dtype: String)
        /// The shape times the dtype size differs from the byte range length.
        case sizeMismatch(tensor: String, shape: [Int], dtype: String, byteLength: Int)
        /// No tensor of this name in the file.
        case missingTensor(name: String)
        /// An integer was asked for but the tensor holds fractional or non-finite values.
        case notIntegral(tensor: String)

        /// Whether this is a compressed stream's problem (what zlib inside a PNG or a MAT-file reports), to be
        /// restated as the enclosing format's.
        package var isStreamProblem: Bool {
            switch self {
            case .truncated, .invalidDeflate, .invalidGzip, .checksumMismatch, .zlib: return true
            default: return false
            }
        }

        /// The problem, without the file.
        public var description: String {
            switch self {
            case .missingFile(let dataSet, let expected):
                return "file not found; the \(dataSet) files are \(expected.joined(separator: ", "))"
            case .missingFolder(let dataSet, let expected):
                return "folder not found; \(dataSet) needs \(expected.joined(separator: ", ")) in the folder above it"
            case .fileSystem(let reason): return reason
            case .truncatedRecord(let recordSize, let size):
                return "truncated record: \(size) bytes is not a multiple of the \(recordSize)-byte record"
            case .noImages: return "holds no images"
            case .invalidLabel(let record, let label, let value, let classCount):
                return "record \(record) has \(label) \(value), expected 0–\(classCount - 1)"
            case .invalidDigitLabel(let index, let value):
                return "y(\(index + 1)) is \(value), expected a digit label 1–10 (10 for the digit 0)"
            case .wrongImageSize(let width, let height):
                return "the image is \(width) × \(height), expected 32 × 32"
            case .unexpectedEntry(let reason): return "unexpected in a CINIC-10 class folder: \(reason)"
            case .missingVariable(let name): return "no variable '\(name)'; an SVHN file holds X (images) and y (labels)"
            case .badVariable(let name, let reason): return "variable '\(name)': \(reason)"
            case .countMismatch(let images, let labels): return "X holds \(images) images but y holds \(labels) labels"
            case .invalidPNG(let reason): return reason
            case .invalidMAT(let reason): return "not a readable MAT-file: \(reason)"
            case .truncated(let what): return "unexpected end of data in \(what)"
            case .invalidDeflate(let reason): return "invalid DEFLATE data: \(reason)"
            case .invalidGzip(let reason): return "invalid gzip data: \(reason)"
            case .checksumMismatch(let what, let stored?, let computed?):
                return "\(what) mismatch: stored \(Self.hex(stored)), computed \(Self.hex(computed))"
            case .checksumMismatch(let what, _, _): return "\(what) mismatch: the stored value does not match the data"
            case .invalidTar(let reason): return "invalid tar data: \(reason)"
            case .zlib(let reason): return "zlib error: \(reason)"
            case .tooShort(let count): return "file is \(count) bytes, too short to hold the 8-byte header length"
            case .headerBeyondFile(let headerLength, let fileLength):
                return "header length \(headerLength) reaches beyond the end of the \(fileLength)-byte file"
            case .badHeader(let reason): return "bad JSON header: \(reason)"
            case .offsetsOutOfRange(let tensor, let begin, let end, let dataLength):
                return "tensor '\(tensor)' has data_offsets [\(begin), \(end)] outside the \(dataLength)-byte data section"
            case .overlappingTensors(let first, let second): return "tensors '\(first)' and '\(second)' overlap"
            case .unclaimedData(let begin, let end, let dataLength):
                return "bytes \(begin)..<\(end) of the \(dataLength)-byte data section belong to no tensor "
                    + "(tensor data must be contiguous)"
            case .unknownDType(let tensor, let dtype): return "tensor '\(tensor)' has unsupported dtype '\(dtype)'"
            case .sizeMismatch(let tensor, let shape, let dtype, let byteLength):
                return "tensor '\(tensor)' of shape \(shape) and dtype \(dtype) does not fill its \(byteLength) bytes"
            case .missingTensor(let name): return "no tensor named '\(name)'"
            case .notIntegral(let tensor): return "tensor '\(tensor)' holds values that are not whole numbers"
            }
        }

        private static func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16)
            return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
        }
    }

    /// The file (a path, or a name such as `<memory>` for bytes that never were a file) the error concerns.
    public let file: String
    /// What is wrong with it.
    public let kind: Kind

    /// An error about `file`.
    public init(file: String, kind: Kind) {
        self.file = file
        self.kind = kind
    }

    /// `FILE: problem`.
    public var description: String { "\(file): \(kind)" }
}
