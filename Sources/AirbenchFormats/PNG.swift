// A small, strict PNG decoder for the images the data sets ship: 8-bit RGB, and for safety 8-bit
// greyscale and 8-bit palette images, not interlaced. Everything else is rejected with the reason.
//
// Layout (PNG specification, ISO/IEC 15948):
//   signature 89 50 4E 47 0D 0A 1A 0A
//   chunks:   length (UInt32 big-endian, at most 2^31 - 1), type (4 ASCII letters), data, CRC-32 of type and data
//   IHDR first (width, height, bit depth, colour type, compression 0, filter 0, interlace 0), PLTE for
//   palette images, consecutive IDAT chunks whose concatenation is one zlib stream, IEND last.
//   The stream holds, per row, a filter type byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) and the
//   filtered row.

/// A decoded image as 8-bit RGB.
package struct PNGImage: Sendable, Equatable {
    package var width: Int
    package var height: Int
    /// The colour type the file stored (0 greyscale, 2 RGB, 3 palette); `pixels` is RGB whatever it was.
    package var colorType: UInt8
    /// `height × width × 3` bytes: rows top to bottom, pixels left to right, R G B.
    package var pixels: [UInt8]
}

package enum PNG {
    package static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes a complete PNG file to 8-bit RGB.
    ///
    /// Every chunk's length is checked against the bytes that remain and its CRC verified; the image
    /// buffer is allocated only once IHDR's size is known to be one the compressed data can produce.
    ///
    /// - Parameter file: the file the bytes come from, named in errors.
    /// - Throws: `FormatError` of kind `.invalidPNG` naming the problem (and the chunk or row where it is).
    package static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws -> PNGImage {
        guard bytes.count >= signature.count, bytes.prefix(signature.count).elementsEqual(signature) else {
            throw PNG.invalid(file, "not a PNG file: the 8-byte PNG signature is missing")
        }
        var header: Header?
        var palette: [UInt8]?
        var compressed: [UInt8] = []
        var sawIDAT = false
        var idatEnded = false
        var offset = signature.count
        var sawIEND = false
        while !sawIEND {
            guard bytes.count - offset >= 12 else {
                throw PNG.invalid(
                    file,
                    offset == bytes.count
                        ? "truncated: the file ends at byte \(offset) without an IEND chunk"
                        : "truncated: byte \(offset): a chunk needs at least 12 bytes, \(bytes.count - offset) remain")
            }
            let length = Int(bigEndianWord(bytes, at: offset))
            let typeBytes = Array(bytes[offset + 4 ..< offset + 8])
            guard typeBytes.allSatisfy({ (0x41 ... 0x5A).contains($0) || (0x61 ... 0x7A).contains($0) }) else {
                throw PNG.invalid(file, "byte \(offset): chunk type \(typeBytes.map { String($0, radix: 16) }) is not four ASCII letters")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= Int(Int32.max) else {
                throw PNG.invalid(file, "byte \(offset): chunk \(type) declares \(length) bytes, more than the 2^31 - 1 allowed")
            }
            guard length <= bytes.count - offset - 12 else {
                throw PNG.invalid(file, "truncated: byte \(offset): chunk \(type) declares \(length) bytes, \(bytes.count - offset - 12) remain")
            }
            let data = UnsafeRawBufferPointer(rebasing: bytes[offset + 8 ..< offset + 8 + length])
            let storedCRC = bigEndianWord(bytes, at: offset + 8 + length)
            let computedCRC = Zlib.crc32(UnsafeRawBufferPointer(rebasing: bytes[offset + 4 ..< offset + 8 + length]))
            guard storedCRC == computedCRC else {
                throw PNG.invalid(
                    file,
                    "byte \(offset): chunk \(type) CRC mismatch: stored \(hex(storedCRC)), computed \(hex(computedCRC))")
            }
            if header == nil && type != "IHDR" {
                throw PNG.invalid(file, "byte \(offset): the first chunk is \(type), IHDR must come first")
            }
            if sawIDAT && type != "IDAT" { idatEnded = true }
            switch type {
            case "IHDR":
                guard header == nil else { throw PNG.invalid(file, "byte \(offset): a second IHDR chunk") }
                header = try Header(data, file: file)
            case "PLTE":
                guard palette == nil else { throw PNG.invalid(file, "byte \(offset): a second PLTE chunk") }
                guard !sawIDAT else { throw PNG.invalid(file, "byte \(offset): PLTE after IDAT") }
                guard header!.colorType != 0 else { throw PNG.invalid(file, "byte \(offset): a PLTE chunk in a greyscale image") }
                guard length % 3 == 0, length >= 3, length <= 3 * 256 else {
                    throw PNG.invalid(file, "byte \(offset): PLTE holds \(length) bytes, not 1 to 256 RGB entries")
                }
                palette = Array(data)
            case "IDAT":
                guard !idatEnded else { throw PNG.invalid(file, "byte \(offset): IDAT chunks are not consecutive") }
                if header!.colorType == 3 && palette == nil {
                    throw PNG.invalid(file, "byte \(offset): a palette image without a PLTE chunk before IDAT")
                }
                sawIDAT = true
                compressed.append(contentsOf: data)
            case "IEND":
                guard length == 0 else { throw PNG.invalid(file, "byte \(offset): IEND holds \(length) bytes, it must be empty") }
                sawIEND = true
            default:
                // Ancillary chunks (first letter lower case: text, gamma, time, transparency) are skipped;
                // an unknown critical one means the image cannot be shown correctly.
                guard typeBytes[0] & 0x20 != 0 else {
                    throw PNG.invalid(file, "byte \(offset): unknown critical chunk \(type)")
                }
            }
            offset += 12 + length
        }
        guard offset == bytes.count else {
            throw PNG.invalid(file, "\(bytes.count - offset) bytes after the IEND chunk")
        }
        guard sawIDAT else { throw PNG.invalid(file, "no IDAT chunk: the file holds no image data") }
        let ihdr = header!
        let rowBytes = ihdr.width * ihdr.channels
        let filtered = try inflateImageData(compressed, rows: ihdr.height, rowBytes: rowBytes, file: file)
        let samples = try unfilter(filtered, rows: ihdr.height, rowBytes: rowBytes, bytesPerPixel: ihdr.channels, file: file)
        return PNGImage(
            width: ihdr.width, height: ihdr.height, colorType: ihdr.colorType,
            pixels: try rgb(samples, header: ihdr, palette: palette, file: file))
    }

    /// The IHDR fields this decoder supports.
    private struct Header {
        var width: Int
        var height: Int
        var colorType: UInt8
        /// Samples per pixel: 3 for RGB, 1 for greyscale and palette indices (all 8 bits).
        var channels: Int

        init(_ data: UnsafeRawBufferPointer, file: String) throws {
            guard data.count == 13 else { throw PNG.invalid(file, "IHDR holds \(data.count) bytes, it must hold 13") }
            let width = Int(bigEndianWord(data, at: 0))
            let height = Int(bigEndianWord(data, at: 4))
            guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
                throw PNG.invalid(file, "IHDR: image size \(width) × \(height); each side must be 1 to 2^31 - 1")
            }
            let (depth, colorType, compression, filter, interlace) = (data[8], data[9], data[10], data[11], data[12])
            let allowedDepths: [UInt8: [UInt8]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
            guard let depths = allowedDepths[colorType] else {
                throw PNG.invalid(file, "IHDR: colour type \(colorType) does not exist")
            }
            guard depths.contains(depth) else {
                throw PNG.invalid(file, "IHDR: bit depth \(depth) is not allowed for colour type \(colorType)")
            }
            guard compression == 0 else { throw PNG.invalid(file, "IHDR: compression method \(compression), only 0 (zlib) exists") }
            guard filter == 0 else { throw PNG.invalid(file, "IHDR: filter method \(filter), only 0 exists") }
            guard interlace <= 1 else { throw PNG.invalid(file, "IHDR: interlace method \(interlace), only 0 and 1 exist") }
            let kind = [0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale with alpha", 6: "RGBA"][Int(colorType)]!
            guard depth == 8, colorType == 0 || colorType == 2 || colorType == 3 else {
                throw PNG.invalid(
                    file,
                    "unsupported PNG type: \(depth)-bit \(kind) (colour type \(colorType)); "
                        + "only 8-bit RGB, greyscale and palette images are read")
            }
            guard interlace == 0 else {
                throw PNG.invalid(file, "unsupported PNG type: interlaced (Adam7); only non-interlaced images are read")
            }
            self.width = width
            self.height = height
            self.colorType = colorType
            self.channels = colorType == 2 ? 3 : 1
        }
    }

    /// Inflates the IDAT stream to exactly `rows × (1 + rowBytes)` bytes.
    private static func inflateImageData(_ compressed: [UInt8], rows: Int, rowBytes: Int, file: String) throws -> [UInt8] {
        let (perRow, rowOverflow) = rowBytes.addingReportingOverflow(1)
        let (expected, overflow) = perRow.multipliedReportingOverflow(by: rows)
        guard !rowOverflow, !overflow, Zlib.canHold(expected, compressedBytes: compressed.count) else {
            throw PNG.invalid(
                file,
                "IHDR: the image needs \(overflow || rowOverflow ? "more than 2^63" : "\(expected)") bytes of image data, "
                    + "more than the \(compressed.count) bytes of IDAT data can hold")
        }
        var output = [UInt8](repeating: 0, count: expected)
        var filled = 0
        do {
            let consumed = try output.withUnsafeMutableBytes { destination in
                try compressed.withUnsafeBytes { source in
                    try Zlib.inflate(source, file: file) { piece in
                        guard piece.count <= expected - filled else {
                            throw PNG.invalid(file, "the IDAT data decompresses to more than the \(expected) bytes the image needs")
                        }
                        UnsafeMutableRawBufferPointer(rebasing: destination[filled ..< filled + piece.count]).copyMemory(from: piece)
                        filled += piece.count
                    }
                }
            }
            guard consumed == compressed.count else {
                throw PNG.invalid(file, "\(compressed.count - consumed) bytes of IDAT data after the end of the zlib stream")
            }
        } catch let error as FormatError where error.kind.isStreamProblem {
            throw invalid(file, "IDAT data: \(error.kind)")
        }
        guard filled == expected else {
            throw PNG.invalid(file, "the IDAT data decompresses to \(filled) bytes, the image needs \(expected)")
        }
        return output
    }

    /// Undoes the per-row filters, returning `rows × rowBytes` samples.
    private static func unfilter(
        _ data: [UInt8], rows: Int, rowBytes: Int, bytesPerPixel bpp: Int, file: String
    ) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        try data.withUnsafeBufferPointer { input in
            try out.withUnsafeMutableBufferPointer { output in
                for row in 0 ..< rows {
                    let source = row * (rowBytes + 1)
                    let filter = input[source]
                    let line = row * rowBytes
                    let previous = line - rowBytes  // only read when row > 0
                    for i in 0 ..< rowBytes {
                        let x = input[source + 1 + i]
                        let a = i >= bpp ? output[line + i - bpp] : 0
                        let b = row > 0 ? output[previous + i] : 0
                        let value: UInt8
                        switch filter {
                        case 0: value = x
                        case 1: value = x &+ a
                        case 2: value = x &+ b
                        case 3: value = x &+ UInt8((UInt16(a) + UInt16(b)) / 2)
                        case 4:
                            let c = row > 0 && i >= bpp ? output[previous + i - bpp] : 0
                            value = x &+ paeth(a, b, c)
                        default:
                            throw PNG.invalid(file, "row \(row) has filter type \(filter), only 0 to 4 exist")
                        }
                        output[line + i] = value
                    }
                }
            }
        }
        return out
    }

    private static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    private static func rgb(_ samples: [UInt8], header: Header, palette: [UInt8]?, file: String) throws -> [UInt8] {
        switch header.colorType {
        case 2:
            return samples
        case 0:
            var out = [UInt8](repeating: 0, count: samples.count * 3)
            for (index, grey) in samples.enumerated() {
                out[3 * index] = grey
                out[3 * index + 1] = grey
                out[3 * index + 2] = grey
            }
            return out
        default:
            let palette = palette!
            let entries = palette.count / 3
            var out = [UInt8](repeating: 0, count: samples.count * 3)
            for (index, entry) in samples.enumerated() {
                guard Int(entry) < entries else {
                    throw PNG.invalid(
                        file,
                        "pixel (\(index % header.width), \(index / header.width)) uses palette entry \(entry), "
                            + "the palette has \(entries)")
                }
                out[3 * index] = palette[3 * Int(entry)]
                out[3 * index + 1] = palette[3 * Int(entry) + 1]
                out[3 * index + 2] = palette[3 * Int(entry) + 2]
            }
            return out
        }
    }

    /// The error for `file` not being a PNG this decoder reads, for `reason`.
    private static func invalid(_ file: String, _ reason: String) -> FormatError {
        FormatError(file: file, kind: .invalidPNG(reason))
    }

    private static func bigEndianWord(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
