import Foundation

/// The sizes a data set's files must have: the official ones, or smaller ones for tests.
package struct DatasetSizes: Sendable {
    package var cifar10RecordsPerFile = CIFAR10.recordsPerFile
    package var cifar100TrainRecords = CIFAR100.trainRecords
    package var cifar100TestRecords = CIFAR100.testRecords
    /// Whether each SVHN file must hold its official number of images.
    package var svhnOfficialCounts = true
    /// Images in each CINIC-10 class folder; `nil` takes what is there.
    package var cinicImagesPerClass: Int? = CINIC10.imagesPerClass

    package static let official = DatasetSizes()
}

extension DatasetSelection {
    /// Where this data set's files are published and how a folder of them looks.
    package func layout(sizes: DatasetSizes = .official) -> DatasetLayout {
        switch name {
        case .cifar10: return CIFAR10.layout(recordsPerFile: sizes.cifar10RecordsPerFile)
        case .cifar100: return CIFAR100.layout(trainRecords: sizes.cifar100TrainRecords, testRecords: sizes.cifar100TestRecords)
        case .svhn: return SVHN.layout(includeExtra: svhnExtra)
        case .cinic10: return CINIC10.layout
        }
    }
}

extension DatasetName {
    /// The official layout of the data set (for recognising its archives by name).
    package var layout: DatasetLayout { DatasetSelection(self).layout() }
}

extension Dataset {
    /// Finds the data set as `--data`, `$AIRBENCH_DATA` or the cache say (see `DatasetLayout.locate`), downloading
    /// the official files into the cache only when nothing was given and the cache is empty, then reads it.
    ///
    /// - Throws: `DataError` (or the reader's error) naming the path or URL and what is wrong with it.
    public static func load(
        _ selection: DatasetSelection, dataFlag: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cacheFolder: URL? = nil, allowDownload: Bool = true
    ) throws -> Dataset {
        try load(selection, dataFlag: dataFlag, environment: environment, cacheFolder: cacheFolder,
                 allowDownload: allowDownload, sizes: .official)
    }

    /// Only finds the folder of the data set's files (unpacking or downloading as `load` does), without reading them.
    public static func locate(
        _ selection: DatasetSelection, dataFlag: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cacheFolder: URL? = nil, allowDownload: Bool = true
    ) throws -> URL {
        try selection.validate()
        return try selection.layout().locate(dataFlag: dataFlag, environment: environment, cacheFolder: cacheFolder,
                                             allowDownload: allowDownload)
    }

    /// `load` with other file sizes, so tests can use small files.
    package static func load(
        _ selection: DatasetSelection, dataFlag: String?, environment: [String: String], cacheFolder: URL?,
        allowDownload: Bool, sizes: DatasetSizes
    ) throws -> Dataset {
        try selection.validate()
        let folder = try selection.layout(sizes: sizes).locate(
            dataFlag: dataFlag, environment: environment, cacheFolder: cacheFolder, allowDownload: allowDownload)
        return try read(selection, folder: folder, sizes: sizes)
    }

    /// Reads the files of `selection` from `folder` (the folder of the data set's files), checking their sizes.
    package static func read(_ selection: DatasetSelection, folder: URL, sizes: DatasetSizes = .official) throws -> Dataset {
        try selection.validate()
        let train: ImageSplit, test: ImageSplit
        switch selection.name {
        case .cifar10:
            let data = try CIFAR10.load(folder: folder, recordsPerFile: sizes.cifar10RecordsPerFile)
            (train, test) = (data.train, data.test)
        case .cifar100:
            let data = try CIFAR100.load(folder: folder, trainRecords: sizes.cifar100TrainRecords,
                                         testRecords: sizes.cifar100TestRecords)
            (train, test) = (data.train.split(labels: selection.labels), data.test.split(labels: selection.labels))
        case .svhn:
            let data = try SVHN.load(folder: folder, includeExtra: selection.svhnExtra, checkCounts: sizes.svhnOfficialCounts)
            train = data.extra.map(data.train.appending) ?? data.train
            test = data.test
        case .cinic10:
            func split(_ name: String) throws -> ImageSplit {
                try CINIC10.readSplit(folder.appendingPathComponent(name), imagesPerClass: sizes.cinicImagesPerClass)
            }
            // valid/ is read only when it is trained on (90,000 PNG files). The folders list the images class by
            // class; interleaved, any prefix (--train-limit, train_limit) is balanced across the classes, as a
            // prefix of CIFAR-10's shuffled files is.
            let images = try split("train")
            train = (selection.cinicValid ? images.appending(try split("valid")) : images).interleavedByClass()
            test = try split("test")
        }
        return Dataset(selection: selection, train: train, test: test)
    }
}

extension ImageSplit {
    /// The images reordered round-robin over the classes: the first image of each class in label order, then the
    /// second of each, and so on (a class that runs out is skipped); within a class the order is kept.
    public func interleavedByClass() -> ImageSplit {
        var seen = [Int](repeating: 0, count: 256)
        let rank = labels.map { label in defer { seen[Int(label)] += 1 }; return seen[Int(label)] }
        return subset(labels.indices.sorted { (rank[$0], labels[$0]) < (rank[$1], labels[$1]) })
    }
}

extension CIFAR100Split {
    /// The images with the fine or the coarse labels.
    public func split(labels: CIFAR100Labels) -> ImageSplit {
        ImageSplit(images: images, labels: labels == .fine ? fineLabels : coarseLabels)
    }
}

extension CIFAR10 {
    /// Where the official binary archive is published.
    public static let officialArchive = DataSetFile(
        name: "cifar-10-binary.tar.gz", url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        md5: "c32a1d4ab5d03f1284b67883e8d87530", images: 60_000)

    /// The six batch files in `cifar-10-batches-bin/`, from the official archive (or `download`, for tests).
    package static func layout(recordsPerFile: Int, download: DataSetFile = officialArchive) -> DatasetLayout {
        DatasetLayout(
            displayName: "CIFAR-10", folderName: batchFolderName, requiredNames: batchFileNames, downloads: [download],
            archiveNameMatches: { $0.contains("cifar10") && !$0.contains("cifar100") },
            isComplete: { CIFAR10BatchFile.folderIsComplete($0, records: recordsPerFile) },
            checkFiles: { folder in
                for name in batchFileNames {
                    try checkRecordFile(folder.appendingPathComponent(name), recordSize: CIFAR10BatchFile.recordSize,
                                        records: recordsPerFile, expected: batchFileNames)
                }
            })
    }
}

extension CIFAR100 {
    /// The official binary archive, which unpacks to `cifar-100-binary/`.
    public static let officialArchive = DataSetFile(
        name: "cifar-100-binary.tar.gz", url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        md5: "03b5dce01913d631647c71ecec9e9cb8", images: 60_000)

    /// `train.bin` and `test.bin` in `cifar-100-binary/`, from the official archive.
    package static func layout(trainRecords: Int, testRecords: Int) -> DatasetLayout {
        let files = [(trainFileName, trainRecords), (testFileName, testRecords)]
        return DatasetLayout(
            displayName: "CIFAR-100", folderName: folderName, requiredNames: files.map(\.0), downloads: [officialArchive],
            archiveNameMatches: { $0.contains("cifar100") },
            isComplete: { folder in
                files.allSatisfy { fileSize(folder.appendingPathComponent($0.0)) == $0.1 * CIFAR100BinaryFile.recordSize }
            },
            checkFiles: { folder in
                for (name, records) in files {
                    try checkRecordFile(folder.appendingPathComponent(name), recordSize: CIFAR100BinaryFile.recordSize,
                                        records: records, expected: files.map(\.0))
                }
            })
    }
}

extension SVHN {
    /// The cropped-digits `.mat` files, published one by one (downloaded into the cache's `svhn/`).
    package static func layout(includeExtra: Bool, sources: [DataSetFile]? = nil) -> DatasetLayout {
        let files = sources ?? [trainFile, testFile] + (includeExtra ? [extraFile] : [])
        return DatasetLayout(
            displayName: "SVHN", folderName: "svhn", requiredNames: files.map(\.name), downloads: files,
            archiveNameMatches: { $0.contains("svhn") },
            isComplete: { folder in files.allSatisfy { fileSize(folder.appendingPathComponent($0.name)) != nil } },
            checkFiles: { folder in
                for file in files where fileSize(folder.appendingPathComponent(file.name)) == nil {
                    throw DataError.missingFile(path: folder.appendingPathComponent(file.name).path, expected: files.map(\.name))
                }
            })
    }
}

extension CINIC10 {
    /// `train/`, `valid/` and `test/`, each of ten class folders of PNG files, from the official archive.
    package static var layout: DatasetLayout {
        DatasetLayout(
            displayName: "CINIC-10", folderName: "CINIC-10", requiredNames: splitNames.map { $0 + "/" }, downloads: [archive],
            archiveNameMatches: { $0.contains("cinic") },
            isComplete: { folder in
                splitNames.allSatisfy { split in
                    classNames.allSatisfy { isFolder(folder.appendingPathComponent(split).appendingPathComponent($0)) }
                }
            },
            checkFiles: { folder in
                for split in splitNames {
                    let splitFolder = folder.appendingPathComponent(split)
                    guard isFolder(splitFolder) else {
                        throw CINIC10Error.missingFolder(path: splitFolder.path, expected: splitNames.map { $0 + "/" })
                    }
                    for name in classNames where !isFolder(splitFolder.appendingPathComponent(name)) {
                        throw CINIC10Error.missingFolder(path: splitFolder.appendingPathComponent(name).path,
                                                         expected: classNames.map { $0 + "/" })
                    }
                }
            })
    }
}

/// The size of the file at `url`, or `nil` when there is none.
private func fileSize(_ url: URL) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? Int
}

private func isFolder(_ url: URL) -> Bool {
    var folder: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &folder) && folder.boolValue
}

/// Throws the error reading a file of `records` fixed-size records would give for its presence and size.
private func checkRecordFile(_ file: URL, recordSize: Int, records: Int, expected: [String]) throws {
    guard let size = fileSize(file) else { throw DataError.missingFile(path: file.path, expected: expected) }
    guard size % recordSize == 0 else {
        throw DataError.truncatedRecord(path: file.path, recordSize: recordSize, actual: size)
    }
    guard size == records * recordSize else {
        throw DataError.wrongFileSize(path: file.path, expected: records * recordSize, actual: size)
    }
}
