import AirbenchFormats
import Foundation

/// Unpacks a `.tar.gz` file into a folder, streaming: the archive is memory-mapped, and zlib's
/// output goes piece by piece through the tar parser into the output files.
package enum ArchiveExtractor {
    /// Extracts the regular files of `archive` under `folder` (which must exist).
    ///
    /// - Throws: `FormatError` naming the archive when it cannot be decoded; `DataError.badArchive` when it
    ///   holds an unsafe path; `DataError.fileSystem` when it cannot be read or a file cannot be written.
    package static func extractTarGzip(_ archive: URL, into folder: URL) throws {
        let compressed: Data
        do {
            compressed = try Data(contentsOf: archive, options: .alwaysMapped)
        } catch {
            throw DataError.fileSystem(path: archive.path, reason: "cannot read: \(fileSystemReason(error))")
        }
        var writer = FileWriter(folder: folder, archivePath: archive.path)
        defer { writer.close() }
        var tar = TarReader(file: archive.path)
        try compressed.withUnsafeBytes { input in
            try Gzip.decompress(input, file: archive.path) { piece in
                try tar.consume(piece) { try writer.handle($0) }
            }
        }
        try tar.finish()
    }
}

/// Writes the files a `TarReader` reports under one folder.
private struct FileWriter {
    let folder: URL
    let archivePath: String
    private var current: FileHandle?
    private var currentPath = ""

    init(folder: URL, archivePath: String) {
        self.folder = folder
        self.archivePath = archivePath
    }

    mutating func handle(_ event: TarEvent) throws {
        switch event {
        case .fileStart(let path, _):
            let components = path.split(separator: "/").filter { $0 != "." }
            // An archive must not write outside the folder it is unpacked into.
            guard !path.hasPrefix("/"), !components.isEmpty, !components.contains("..") else {
                throw DataError.badArchive(path: archivePath, reason: "entry \"\(path)\" would land outside the extraction folder")
            }
            let file = components.reduce(folder) { $0.appendingPathComponent(String($1)) }
            currentPath = file.path
            do {
                try FileManager.default.createDirectory(
                    at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw DataError.fileSystem(path: file.deletingLastPathComponent().path, reason: "cannot create folder: \(fileSystemReason(error))")
            }
            guard FileManager.default.createFile(atPath: file.path, contents: nil),
                  let handle = FileHandle(forWritingAtPath: file.path)
            else {
                throw DataError.fileSystem(path: file.path, reason: "cannot create file")
            }
            current = handle
        case .fileData(let piece):
            do {
                // No copy: the piece lives in the decoder's output buffer until this returns.
                try current?.write(contentsOf: Data(
                    bytesNoCopy: UnsafeMutableRawPointer(mutating: piece.baseAddress!), count: piece.count,
                    deallocator: .none))
            } catch {
                throw DataError.fileSystem(path: currentPath, reason: "cannot write: \(fileSystemReason(error))")
            }
        case .fileEnd:
            close()
        }
    }

    mutating func close() {
        try? current?.close()
        current = nil
    }
}
