import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Reading files and creating folders with errors that say which path and what the system said, for every module:
// Foundation's own messages are either a sentence that hides the cause ("The operation could not be completed.
// (NSCocoaErrorDomain error 256.)") or an NSError dump with the path three times over.

/// What the file system said when a read, write, listing or folder creation failed, as a short phrase such as
/// "no such file or directory", "is a directory" or "not a regular file": the POSIX reason under Foundation's
/// error when it has one (`strerror`'s text, first letter lowered), else the error's own description.
public func fileSystemReason(_ error: any Error) -> String {
    if let code = posixCode(of: error) { return lowercasedFirst(String(cString: strerror(code))) }
    if let error = error as? CocoaError { return error.localizedDescription }
    return "\(error)"
}

/// The bytes of the file at `url`.
///
/// - Throws: `FormatError` of kind `.fileSystem` naming the file: "cannot read: <reason>", where a path that is
///   not a regular file (a device such as /dev/null, a socket) says so instead of the "permission denied"
///   Foundation reports for it.
public func readFile(_ url: URL, options: Data.ReadingOptions = []) throws -> Data {
    do { return try Data(contentsOf: url, options: options) } catch {
        var reason = fileSystemReason(error)
        let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
        if let type, type != .typeRegular, type != .typeDirectory, type != .typeSymbolicLink {
            reason = "not a regular file"
        }
        throw FormatError(file: url.path, kind: .fileSystem(reason: "cannot read: \(reason)"))
    }
}

/// Creates the folder at `url` and any missing folders above it; nothing happens when it exists.
///
/// - Throws: `FormatError` of kind `.fileSystem` naming the folder: "cannot create the folder: <reason>" (a
///   file in the way says "file exists" or "not a directory").
public func createFolder(_ url: URL) throws {
    do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
        throw FormatError(file: url.path, kind: .fileSystem(reason: "cannot create the folder: \(fileSystemReason(error))"))
    }
}

/// The errno under a Foundation file error (CocoaError wraps it as its underlying NSPOSIXErrorDomain error), or
/// of a POSIXError itself.
private func posixCode(of error: any Error) -> Int32? {
    if let error = error as? POSIXError { return error.code.rawValue }
    if let underlying = (error as? CocoaError)?.underlying { return posixCode(of: underlying) }
    let error = error as NSError
    if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
    return (error.userInfo[NSUnderlyingErrorKey] as? any Error).flatMap(posixCode)
}

private func lowercasedFirst(_ text: String) -> String {
    guard let first = text.first else { return text }
    return first.lowercased() + text.dropFirst()
}
