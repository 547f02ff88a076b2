/// Entry points for the libFuzzer harnesses in `Fuzz/`, a separate package that sees only public API.
/// Each runs one parser on arbitrary bytes exactly as it runs on a user's file, and discards the
/// result or the error: a harness fails only on a crash, a hang or runaway memory.
///
/// Not part of the library's API: it is public only under `@_spi(Fuzzing)`.
@_spi(Fuzzing)
public enum FuzzEntryPoints {
    /// The tar reader, fed in pieces whose size comes from the first byte (exercising the streaming
    /// state machine across piece boundaries), then `finish()`.
    public static func tar(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return }
        let pieceSize = Int(first) + 1
        let archive = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        var reader = TarReader(file: "fuzz")
        var offset = 0
        do {
            while offset < archive.count {
                let end = min(archive.count, offset + pieceSize)
                try reader.consume(UnsafeRawBufferPointer(rebasing: archive[offset ..< end])) { _ in }
                offset = end
            }
            try reader.finish()
        } catch {}
    }

    /// gzip decompression (small output pieces), then the tar reader on what comes out, as the
    /// archive extractor does with the CIFAR-10 `.tar.gz`.
    public static func gzip(_ bytes: UnsafeRawBufferPointer) {
        var reader = TarReader(file: "fuzz")
        do {
            try Gzip.decompress(bytes, file: "fuzz", chunkSize: 4096) { piece in
                try reader.consume(piece) { _ in }
            }
            try reader.finish()
        } catch {}
    }

    /// A CIFAR-10 batch file (any whole number of records is well-formed).
    public static func cifar10Batch(_ bytes: UnsafeRawBufferPointer) {
        _ = try? CIFAR10BatchFile.parse(bytes, path: "fuzz")
    }

    /// A CIFAR-100 binary file (any whole number of records is well-formed).
    public static func cifar100(_ bytes: UnsafeRawBufferPointer) {
        _ = try? CIFAR100BinaryFile.parse(bytes, path: "fuzz")
    }

    /// A MATLAB level-5 file read as an SVHN cropped-digits file.
    public static func mat(_ bytes: UnsafeRawBufferPointer) {
        _ = try? SVHN.parse(bytes, path: "fuzz")
    }

    /// A PNG decoded to RGB (any size) and checked as a CINIC-10 image.
    public static func png(_ bytes: UnsafeRawBufferPointer) {
        _ = try? CINIC10.parseImage(bytes, path: "fuzz")
    }

    /// A safetensors file: header length, JSON header, tensor data.
    public static func safetensors(_ bytes: UnsafeRawBufferPointer) {
        _ = try? SafetensorsFile.parse(Array(bytes), source: "fuzz")
    }
}
