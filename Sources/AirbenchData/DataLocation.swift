import Foundation

extension CIFAR10 {
    /// Where the official binary archive is published.
    public static let officialArchiveURL = URL(string: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")!
    /// MD5 of the official archive, checked after every download.
    public static let officialArchiveMD5 = "c32a1d4ab5d03f1284b67883e8d87530"

    /// Finds a folder holding the six CIFAR-10 batch files, unpacking or downloading as needed.
    ///
    /// The data comes from, in order: `dataFlag` (the `--data` option), `$AIRBENCH_DATA`, or the
    /// cache folder. A given path may be a folder of `.bin` files, a folder holding
    /// `cifar-10-batches-bin/`, a `.tar.gz` archive, or a folder holding exactly one `.tar.gz`.
    /// Archives are unpacked once into `<cache>/extracted/` and reused afterwards. Only when no
    /// path was given and the cache holds nothing is the official archive downloaded (and its MD5 checked).
    ///
    /// - Parameters:
    ///   - dataFlag: the `--data` value, if any.
    ///   - environment: where to read `AIRBENCH_DATA`, `AIRBENCH_CACHE`, `XDG_CACHE_HOME` and `HOME`.
    ///   - cacheFolder: overrides the cache folder (`$AIRBENCH_CACHE`, else `$XDG_CACHE_HOME/airbench`,
    ///     else `~/.cache/airbench`).
    ///   - allowDownload: whether an empty cache may be filled from the internet.
    /// - Throws: `CIFAR10Error` naming the path that holds no data, the archive that is broken, or
    ///   the URL that could not be fetched.
    public static func locate(
        dataFlag: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cacheFolder: URL? = nil,
        allowDownload: Bool = true
    ) throws -> URL {
        try locate(
            dataFlag: dataFlag, environment: environment, cacheFolder: cacheFolder, allowDownload: allowDownload,
            recordsPerFile: recordsPerFile, downloadURL: officialArchiveURL, downloadMD5: officialArchiveMD5)
    }

    /// `locate` with the record count and download source replaceable, so tests can use small
    /// files and an unreachable server.
    package static func locate(
        dataFlag: String?,
        environment: [String: String],
        cacheFolder: URL?,
        allowDownload: Bool,
        recordsPerFile: Int,
        downloadURL: URL,
        downloadMD5: String,
        downloadTimeout: TimeInterval = 15
    ) throws -> URL {
        let cache = cacheFolder ?? defaultCacheFolder(environment: environment)
        if let explicit = nonEmpty(dataFlag) ?? nonEmpty(environment["AIRBENCH_DATA"]) {
            return try resolve(explicitPath: explicit, cache: cache, recordsPerFile: recordsPerFile)
        }

        let cachedFolder = cache.appendingPathComponent(batchFolderName)
        if CIFAR10BatchFile.folderIsComplete(cachedFolder, records: recordsPerFile) { return cachedFolder }
        let archive = cache.appendingPathComponent(downloadURL.lastPathComponent)
        if !FileManager.default.fileExists(atPath: archive.path) {
            guard allowDownload else {
                throw CIFAR10Error.dataNotFound(
                    path: cache.path, reason: "no CIFAR-10 data in the cache and downloading is off; \(CIFAR10Error.localCopyHint)")
            }
            FileHandle.standardError.write(Data("Downloading CIFAR-10 from \(downloadURL.absoluteString) into \(cache.path)\n".utf8))
            try ArchiveDownload.download(from: downloadURL, to: archive, expectedMD5: downloadMD5, timeout: downloadTimeout)
        }
        return try extractOnce(archive: archive, cache: cache, recordsPerFile: recordsPerFile)
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

    /// Turns a user-given path into the folder of batch files, never falling back to a download.
    private static func resolve(explicitPath: String, cache: URL, recordsPerFile: Int) throws -> URL {
        let location = url(forPath: explicitPath)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isFolder) else {
            throw CIFAR10Error.dataNotFound(path: location.path, reason: "no such file or folder")
        }
        if !isFolder.boolValue {
            guard isArchiveName(location.lastPathComponent) else {
                throw CIFAR10Error.dataNotFound(
                    path: location.path, reason: "not a folder or a .tar.gz archive of the CIFAR-10 binary version")
            }
            return try extractOnce(archive: location, cache: cache, recordsPerFile: recordsPerFile)
        }

        let nested = location.appendingPathComponent(batchFolderName)
        for candidate in [location, nested] where CIFAR10BatchFile.folderIsComplete(candidate, records: recordsPerFile) {
            return candidate
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: location.path)) ?? []
        let archives = contents.filter(isArchiveName).sorted()
        if archives.count == 1 {
            return try extractOnce(
                archive: location.appendingPathComponent(archives[0]), cache: cache, recordsPerFile: recordsPerFile)
        }
        if archives.count > 1 {
            throw CIFAR10Error.dataNotFound(
                path: location.path, reason: "holds \(archives.count) archives (\(archives.joined(separator: ", "))); point at one of them")
        }
        // Some batch files are there but not all, or not whole: report the first bad one precisely.
        for candidate in [location, nested] where CIFAR10.batchFileNames.contains(where: {
            FileManager.default.fileExists(atPath: candidate.appendingPathComponent($0).path)
        }) {
            for name in CIFAR10.batchFileNames {
                try checkBatchFile(candidate.appendingPathComponent(name), records: recordsPerFile)
            }
        }
        throw CIFAR10Error.dataNotFound(
            path: location.path,
            reason: "holds neither the six CIFAR-10 batch files (\(CIFAR10.batchFileNames.joined(separator: ", "))), "
                + "a \(batchFolderName)/ folder, nor a .tar.gz archive")
    }

    /// Throws the error that reading `file` would give for its presence and size.
    private static func checkBatchFile(_ file: URL, records: Int) throws {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size]) as? Int else {
            throw CIFAR10Error.missingFile(path: file.path, expected: CIFAR10.batchFileNames)
        }
        guard size % CIFAR10BatchFile.recordSize == 0 else {
            throw CIFAR10Error.truncatedRecord(path: file.path, recordSize: CIFAR10BatchFile.recordSize, actual: size)
        }
        guard size == CIFAR10BatchFile.expectedSize(records: records) else {
            throw CIFAR10Error.wrongFileSize(path: file.path, expected: CIFAR10BatchFile.expectedSize(records: records), actual: size)
        }
    }

    /// Unpacks `archive` into `<cache>/extracted/<name>-<size>/` unless a complete copy is already
    /// there, and returns the folder of batch files inside it.
    ///
    /// Extraction goes to a temporary folder that is renamed into place only when complete, so an
    /// interrupted run leaves nothing that looks finished.
    package static func extractOnce(archive: URL, cache: URL, recordsPerFile: Int) throws -> URL {
        let fileManager = FileManager.default
        let size = ((try? fileManager.attributesOfItem(atPath: archive.path)[.size]) as? Int) ?? 0
        let extracted = cache.appendingPathComponent("extracted")
        let destination = extracted.appendingPathComponent("\(archive.lastPathComponent)-\(size)")
        if fileManager.fileExists(atPath: destination.path) {
            if let folder = dataFolder(in: destination, recordsPerFile: recordsPerFile) { return folder }
            // Damaged since it was made (the rename makes a half-written copy impossible): start over.
            try? fileManager.removeItem(at: destination)
        }

        let temporary = extracted.appendingPathComponent(".partial-\(archive.lastPathComponent)-\(UUID().uuidString)")
        do {
            try fileManager.createDirectory(at: temporary, withIntermediateDirectories: true)
        } catch {
            throw CIFAR10Error.fileSystem(path: temporary.path, reason: "cannot create extraction folder: \(error.localizedDescription)")
        }
        defer { try? fileManager.removeItem(at: temporary) }
        try ArchiveExtractor.extractTarGzip(archive, into: temporary)
        guard dataFolder(in: temporary, recordsPerFile: recordsPerFile) != nil else {
            throw CIFAR10Error.badArchive(
                path: archive.path,
                reason: "holds no \(batchFolderName)/ folder with the six batch files of \(CIFAR10BatchFile.expectedSize(records: recordsPerFile)) bytes each")
        }
        do {
            try fileManager.moveItem(at: temporary, to: destination)
        } catch {
            // Another process may have finished the same extraction first; its copy is as good.
            guard fileManager.fileExists(atPath: destination.path) else {
                throw CIFAR10Error.fileSystem(path: destination.path, reason: "cannot rename extraction into place: \(error.localizedDescription)")
            }
        }
        guard let folder = dataFolder(in: destination, recordsPerFile: recordsPerFile) else {
            throw CIFAR10Error.badArchive(path: archive.path, reason: "extracted copy at \(destination.path) is incomplete")
        }
        return folder
    }

    /// The folder under `root` (itself, `cifar-10-batches-bin/`, or one level down) holding complete batch files.
    private static func dataFolder(in root: URL, recordsPerFile: Int) -> URL? {
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
        let candidates = [root, root.appendingPathComponent(batchFolderName)]
            + children.flatMap { [root.appendingPathComponent($0), root.appendingPathComponent($0).appendingPathComponent(batchFolderName)] }
        return candidates.first { CIFAR10BatchFile.folderIsComplete($0, records: recordsPerFile) }
    }

    private static func isArchiveName(_ name: String) -> Bool {
        name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz")
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
