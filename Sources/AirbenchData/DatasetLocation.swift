import AirbenchFormats
import Foundation

/// How one data set's files look on disk and where they are published: all that `DatasetLayout.locate` needs.
package struct DatasetLayout: Sendable {
    /// The name people write ("CIFAR-10").
    package var displayName: String
    /// The folder the official distribution unpacks to (or, for files published one by one, the cache's folder).
    package var folderName: String
    /// The files a folder of this data set holds, for messages.
    package var requiredNames: [String]
    /// The official files: one `.tar.gz` archive to unpack, or the data files themselves.
    package var downloads: [DataSetFile]
    /// Whether an archive's file name says it is this data set's (a lower-cased name with `-` and `_` removed).
    package var archiveNameMatches: @Sendable (String) -> Bool
    /// Throws the precise problem (a missing folder, a missing, empty or cut-off file) of a folder that does not
    /// hold this data set's files; cheap (names and sizes only), as every candidate folder is checked with it.
    package var checkFiles: @Sendable (URL) throws -> Void

    /// Whether `folder` holds this data set's files, each well-formed by its size.
    package func isComplete(_ folder: URL) -> Bool { (try? checkFiles(folder)) != nil }

    /// Whether the official distribution is an archive to unpack rather than the files themselves.
    var isArchive: Bool { downloads.count == 1 && Self.isArchiveName(downloads[0].name) }

    /// Finds the folder of this data set's files, unpacking or downloading as needed.
    ///
    /// The data comes from, in order: `dataFlag` (the `--data` option), `$AIRBENCH_DATA`, or the cache folder.
    /// A given path may be the folder of the data set's files, a folder holding the official folder (e.g.
    /// `cifar-10-batches-bin/`), a `.tar.gz` archive, or a folder holding the data set's archive (named for the
    /// data set, or the only archive there whose name names no other data set). Archives are unpacked once into
    /// `<cache>/extracted/` and reused afterwards. Only when no path was given and the cache holds nothing are the
    /// official files downloaded (and their MD5 checked).
    ///
    /// - Parameters:
    ///   - dataFlag: the `--data` value, if any.
    ///   - environment: where to read `AIRBENCH_DATA`, `AIRBENCH_CACHE`, `XDG_CACHE_HOME` and `HOME`.
    ///   - cacheFolder: overrides the cache folder (`$AIRBENCH_CACHE`, else `$XDG_CACHE_HOME/airbench`,
    ///     else `~/.cache/airbench`).
    ///   - allowDownload: whether an empty cache may be filled from the internet.
    ///   - downloadTimeout: seconds without progress before a download gives up.
    /// - Throws: `DataError` naming the path that holds no data, the archive that unpacks to no data, or the URL
    ///   that could not be fetched; `FormatError` naming the file of the data set that is missing or cut off, or
    ///   the archive that cannot be decoded.
    package func locate(
        dataFlag: String?, environment: [String: String], cacheFolder: URL?, allowDownload: Bool,
        downloadTimeout: TimeInterval = 15
    ) throws -> URL {
        let cache = cacheFolder ?? Self.defaultCacheFolder(environment: environment)
        if let explicit = Self.nonEmpty(dataFlag) ?? Self.nonEmpty(environment["AIRBENCH_DATA"]) {
            return try resolve(explicitPath: explicit, cache: cache)
        }
        let cachedFolder = cache.appendingPathComponent(folderName)
        if isComplete(cachedFolder) { return cachedFolder }
        func download(_ file: DataSetFile, into folder: URL) throws {
            guard allowDownload else {
                throw DataError.dataNotFound(
                    path: cache.path, reason: "no \(displayName) data in the cache and downloading is off; \(DataError.localCopyHint)")
            }
            FileHandle.standardError.write(Data("Downloading \(displayName) from \(file.url) into \(folder.path)\n".utf8))
            try ArchiveDownload.download(from: URL(string: file.url)!, to: folder.appendingPathComponent(file.name),
                                         expectedMD5: file.md5, timeout: downloadTimeout)
        }
        if isArchive {
            let archive = cache.appendingPathComponent(downloads[0].name)
            if !FileManager.default.fileExists(atPath: archive.path) { try download(downloads[0], into: cache) }
            return try extractOnce(archive: archive, cache: cache)
        }
        for file in downloads where !FileManager.default.fileExists(atPath: cachedFolder.appendingPathComponent(file.name).path) {
            try download(file, into: cachedFolder)
        }
        try checkFiles(cachedFolder)
        return cachedFolder
    }

    /// `$AIRBENCH_CACHE`, else `$XDG_CACHE_HOME/airbench`, else `~/.cache/airbench`.
    package static func defaultCacheFolder(environment: [String: String]) -> URL {
        if let cache = nonEmpty(environment["AIRBENCH_CACHE"]) { return url(forPath: cache) }
        if let xdg = nonEmpty(environment["XDG_CACHE_HOME"]) {
            return url(forPath: xdg).appendingPathComponent("airbench")
        }
        let home = nonEmpty(environment["HOME"]).map(url(forPath:)) ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache").appendingPathComponent("airbench")
    }

    /// Turns a user-given path into the folder of data files, never falling back to a download.
    private func resolve(explicitPath: String, cache: URL) throws -> URL {
        let location = Self.url(forPath: explicitPath)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isFolder) else {
            throw DataError.dataNotFound(path: location.path, reason: "no such file or folder")
        }
        if !isFolder.boolValue {
            guard Self.isArchiveName(location.lastPathComponent) else {
                throw DataError.dataNotFound(
                    path: location.path, reason: "not a folder or a .tar.gz archive of \(displayName)")
            }
            return try extractOnce(archive: location, cache: cache)
        }

        let nested = location.appendingPathComponent(folderName)
        for candidate in [location, nested] where isComplete(candidate) { return candidate }
        let archives = ((try? FileManager.default.contentsOfDirectory(atPath: location.path)) ?? [])
            .filter(Self.isArchiveName).sorted()
        let named = archives.filter { archiveNameMatches(Self.simplified($0)) }
        let unnamed = archives.filter { name in !DatasetName.allCases.contains { $0.layout.archiveNameMatches(Self.simplified(name)) } }
        let chosen = named.isEmpty ? unnamed : named
        if chosen.count == 1 { return try extractOnce(archive: location.appendingPathComponent(chosen[0]), cache: cache) }
        if chosen.count > 1 {
            throw DataError.dataNotFound(
                path: location.path, reason: "holds \(chosen.count) archives (\(chosen.joined(separator: ", "))); point at one of them")
        }
        // Some files are there but not all, or not whole: report the first bad one precisely.
        for candidate in [location, nested] where requiredNames.contains(where: {
            FileManager.default.fileExists(atPath: candidate.appendingPathComponent($0).path)
        }) {
            try checkFiles(candidate)
        }
        let archiveHint = isArchive ? ", nor a \(displayName) .tar.gz archive" : ""
        throw DataError.dataNotFound(
            path: location.path,
            reason: "holds neither the \(displayName) files (\(requiredNames.joined(separator: ", "))), a \(folderName)/ folder\(archiveHint)")
    }

    /// Unpacks `archive` into `<cache>/extracted/<name>-<size>/` unless a complete copy is already there, and
    /// returns the folder of data files inside it.
    ///
    /// Extraction goes to a temporary folder that is renamed into place only when complete, so an interrupted
    /// run leaves nothing that looks finished.
    package func extractOnce(archive: URL, cache: URL) throws -> URL {
        let fileManager = FileManager.default
        let size = ((try? fileManager.attributesOfItem(atPath: archive.path)[.size]) as? Int) ?? 0
        let extracted = cache.appendingPathComponent("extracted")
        let destination = extracted.appendingPathComponent("\(archive.lastPathComponent)-\(size)")
        if fileManager.fileExists(atPath: destination.path) {
            if let folder = dataFolder(in: destination) { return folder }
            // Damaged since it was made (the rename makes a half-written copy impossible): start over.
            try? fileManager.removeItem(at: destination)
        }

        let temporary = extracted.appendingPathComponent(".partial-\(archive.lastPathComponent)-\(UUID().uuidString)")
        do {
            try fileManager.createDirectory(at: temporary, withIntermediateDirectories: true)
        } catch {
            throw DataError.fileSystem(path: temporary.path, reason: "cannot create extraction folder: \(fileSystemReason(error))")
        }
        defer { try? fileManager.removeItem(at: temporary) }
        try ArchiveExtractor.extractTarGzip(archive, into: temporary)
        guard dataFolder(in: temporary) != nil else {
            throw DataError.badArchive(
                path: archive.path,
                reason: "holds no \(folderName)/ folder with the \(displayName) files (\(requiredNames.joined(separator: ", ")))")
        }
        do {
            try fileManager.moveItem(at: temporary, to: destination)
        } catch {
            // Another process may have finished the same extraction first; its copy is as good.
            guard fileManager.fileExists(atPath: destination.path) else {
                throw DataError.fileSystem(path: destination.path, reason: "cannot rename extraction into place: \(fileSystemReason(error))")
            }
        }
        guard let folder = dataFolder(in: destination) else {
            throw DataError.badArchive(path: archive.path, reason: "extracted copy at \(destination.path) is incomplete")
        }
        return folder
    }

    /// The folder under `root` (itself, the official folder, or one level down) holding complete files.
    private func dataFolder(in root: URL) -> URL? {
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
        let candidates = [root, root.appendingPathComponent(folderName)]
            + children.flatMap { [root.appendingPathComponent($0), root.appendingPathComponent($0).appendingPathComponent(folderName)] }
        return candidates.first(where: isComplete(_:))
    }

    package static func isArchiveName(_ name: String) -> Bool {
        name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz")
    }

    /// Lower case without `-` and `_`, so `CIFAR-10`, `cifar_10` and `cifar10` read alike.
    private static func simplified(_ name: String) -> String {
        String(name.lowercased().filter { $0 != "-" && $0 != "_" })
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    /// A file URL for a user-typed path: `~` expanded, relative paths against the working directory.
    private static func url(forPath path: String) -> URL {
        URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
    }
}
