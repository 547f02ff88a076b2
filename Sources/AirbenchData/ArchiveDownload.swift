import AirbenchFormats
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads a file with URLSession, then checks its MD5 before giving it its final name.
package enum ArchiveDownload {
    /// Fetches `url` to `destination`, via a temporary name in the same folder so an interrupted
    /// download never looks complete.
    ///
    /// - Parameter timeout: seconds without any progress before giving up; short, so that an
    ///   offline machine fails in seconds rather than hanging.
    /// - Throws: `DataError.downloadFailed` (with the local-copy hint) or `.checksumMismatch`.
    package static func download(from url: URL, to destination: URL, expectedMD5: String, timeout: TimeInterval) throws {
        let folder = destination.deletingLastPathComponent()
        let partial = folder.appendingPathComponent(".\(destination.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw DataError.fileSystem(path: folder.path, reason: "cannot create cache folder: \(fileSystemReason(error))")
        }

        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = 60 * 60
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let outcome = DownloadOutcome()
        let finished = DispatchSemaphore(value: 0)
        let task = session.downloadTask(with: url) { location, response, error in
            defer { finished.signal() }
            if let error {
                outcome.record(failure: describe(error))
                return
            }
            if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                outcome.record(failure: "HTTP status \(http.statusCode)")
                return
            }
            guard let location else {
                outcome.record(failure: "no data received")
                return
            }
            // URLSession deletes its temporary file when this handler returns, so move it now.
            do {
                try FileManager.default.moveItem(at: location, to: partial)
            } catch {
                outcome.record(failure: "cannot save to \(partial.path): \(fileSystemReason(error))")
            }
        }
        task.resume()
        finished.wait()
        if let failure = outcome.failure {
            try? FileManager.default.removeItem(at: partial)
            throw DataError.downloadFailed(url: url.absoluteString, reason: failure)
        }

        let actualMD5 = try MD5Checksum.hexDigest(ofFile: partial)
        guard actualMD5 == expectedMD5 else {
            try? FileManager.default.removeItem(at: partial)
            throw DataError.checksumMismatch(path: url.absoluteString, expected: expectedMD5, actual: actualMD5)
        }
        do {
            try? FileManager.default.removeItem(at: destination)
            try FileManager.default.moveItem(at: partial, to: destination)
        } catch {
            throw DataError.fileSystem(path: destination.path, reason: "cannot rename download into place: \(fileSystemReason(error))")
        }
    }

    /// The most specific message in an NSError chain: on Linux the top-level `localizedDescription`
    /// is often generic while the underlying error says "Could not resolve host".
    private static func describe(_ error: Error) -> String {
        var current = error as NSError
        var message = current.localizedDescription
        while let underlying = current.userInfo[NSUnderlyingErrorKey] as? NSError {
            if let text = underlying.userInfo[NSLocalizedDescriptionKey] as? String { message = text }
            current = underlying
        }
        return message
    }
}

/// The completion handler's verdict, handed across threads under a lock.
private final class DownloadOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var storedFailure: String?

    var failure: String? { lock.withLock { storedFailure } }

    func record(failure: String) { lock.withLock { storedFailure = failure } }
}
