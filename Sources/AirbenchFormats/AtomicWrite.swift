import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` to `url` so that readers see either the old file or the complete new one, never a
/// half-written file: the bytes go to a hidden temporary file in the same folder, are flushed to
/// disk, and the temporary file is renamed over `url` (rename(2) replaces atomically within one
/// file system). On failure the temporary file is removed and `url` is left as it was.
///
/// - Throws: `FormatError` of kind `.fileSystem` naming `url` and the step that failed.
public func writeFileAtomically(_ bytes: Data, to url: URL) throws {
    let destination = url.standardizedFileURL
    func failure(_ reason: String) -> FormatError { FormatError(file: destination.path, kind: .fileSystem(reason: reason)) }
    // A random part in the name: no clash between concurrent writers.
    let temporary = destination.deletingLastPathComponent()
        .appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
        throw failure("cannot create temporary file \(temporary.path)")
    }
    do {
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        guard rename(temporary.path, destination.path) == 0 else {
            throw failure("cannot rename \(temporary.path) over it: " + String(cString: strerror(errno)))
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        if let error = error as? FormatError { throw error }
        throw failure("cannot write: \(fileSystemReason(error))")
    }
}
