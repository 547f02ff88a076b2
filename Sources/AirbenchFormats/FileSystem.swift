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
/// "no such file or directory" or "is a directory": the POSIX reason under Foundation's error when it has one
/// (`strerror`'s text, first letter lowered), else the error's own description. Foundation refuses to read a device
/// or a socket with "permission denied", even to root; for a path that is one, the reason is "not a regular file".
public func fileSystemReason(_ error: any Error) -> String {
    guard let code = posixCode(of: error) else {
        if let error = error as? CocoaError { return error.localizedDescription }
        return "\(error)"
    }
    if code == EACCES, let path = (error as? CocoaError)?.filePath, isSpecialFile(path) { return "not a regular file" }
    return lowercasedFirst(String(cString: strerror(code)))
}

/// The bytes of the file at `url`.
///
/// - Throws: `FormatError` of kind `.fileSystem` naming the file: "cannot read: <reason>" (`fileSystemReason`).
public func readFile(_ url: URL, options: Data.ReadingOptions = []) throws -> Data {
    do { return try Data(contentsOf: url, options: options) } catch {
        throw FormatError(file: url.path, kind: .fileSystem(reason: "cannot read: \(fileSystemReason(error))"))
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

/// Whether `path` is there and is neither a regular file, a folder nor a symbolic link (a device, a socket, a pipe).
private func isSpecialFile(_ path: String) -> Bool {
    guard let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType else { return false }
    return type != .typeRegular && type != .typeDirectory && type != .typeSymbolicLink
}

private func lowercasedFirst(_ text: String) -> String {
    guard let first = text.first else { return text }
    return first.lowercased() + text.dropFirst()
}
