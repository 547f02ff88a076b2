import Foundation

extension DatasetSelection {
    /// Where this data set's files are published and how a folder of them looks.
    package var layout: DatasetLayout {
        switch name {
        case .cifar10: return CIFAR10.layout()
        case .cifar100: return CIFAR100.layout
        case .svhn: return SVHN.layout(includeExtra: svhnExtra)
        case .cinic10: return CINIC10.layout
        }
    }
}

extension DatasetName {
    /// The official layout of the data set (for recognising its archives by name).
    package var layout: DatasetLayout { DatasetSelection(self).layout }
}

extension Dataset {
    /// Finds the data set as `--data`, `$AIRBENCH_DATA` or the cache say (see `DatasetLayout.locate`), downloading
    /// the official files into the cache only when nothing was given and the cache is empty, then reads it.
    ///
    /// Any well-formed copy reads, whatever its number of images (`summary` shows the counts and says when they
    /// are not the official ones); the MD5 digests are checked only on what is downloaded.
    ///
    /// - Throws: `DataError` naming the path or URL where no data was found or fetched; `FormatError` naming the
    ///   file that is missing, cut off or malformed.
    public static func load(
        _ selection: DatasetSelection, dataFlag: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cacheFolder: URL? = nil, allowDownload: Bool = true
    ) throws -> Dataset {
        let folder = try locate(selection, dataFlag: dataFlag, environment: environment, cacheFolder: cacheFolder,
                                allowDownload: allowDownload)
        return try read(selection, folder: folder)
    }

    /// Only finds the folder of the data set's files (unpacking or downloading as `load` does), without reading them.
    public static func locate(
        _ selection: DatasetSelection, dataFlag: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cacheFolder: URL? = nil, allowDownload: Bool = true
    ) throws -> URL {
        try selection.validate()
        return try selection.layout.locate(dataFlag: dataFlag, environment: environment, cacheFolder: cacheFolder,
                                           allowDownload: allowDownload)
    }

    /// Reads the files of `selection` from `folder` (the folder of the data set's files), whatever their sizes.
    package static func read(_ selection: DatasetSelection, folder: URL) throws -> Dataset {
        try selection.validate()
        let train: ImageSplit, test: ImageSplit
        switch selection.name {
        case .cifar10:
            let data = try CIFAR10.load(folder: folder)
            (train, test) = (data.train, data.test)
        case .cifar100:
            let data = try CIFAR100.load(folder: folder)
            (train, test) = (data.train.split(labels: selection.labels), data.test.split(labels: selection.labels))
        case .svhn:
            let data = try SVHN.load(folder: folder, includeExtra: selection.svhnExtra)
            train = data.extra.map(data.train.appending) ?? data.train
            test = data.test
        case .cinic10:
            func split(_ name: String) throws -> ImageSplit { try CINIC10.readSplit(folder.appendingPathComponent(name)) }
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
    package static func layout(download: DataSetFile = officialArchive) -> DatasetLayout {
        DatasetLayout(
            displayName: "CIFAR-10", folderName: batchFolderName, requiredNames: batchFileNames, downloads: [download],
            archiveNameMatches: { $0.contains("cifar10") && !$0.contains("cifar100") },
            checkFiles: CIFAR10BatchFile.recordFile.checkFolder)
    }
}

extension CIFAR100 {
    /// The official binary archive, which unpacks to `cifar-100-binary/`.
    public static let officialArchive = DataSetFile(
        name: "cifar-100-binary.tar.gz", url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        md5: "03b5dce01913d631647c71ecec9e9cb8", images: 60_000)

    /// `train.bin` and `test.bin` in `cifar-100-binary/`, from the official archive.
    package static var layout: DatasetLayout {
        DatasetLayout(
            displayName: "CIFAR-100", folderName: folderName, requiredNames: [trainFileName, testFileName],
            downloads: [officialArchive], archiveNameMatches: { $0.contains("cifar100") },
            checkFiles: CIFAR100BinaryFile.recordFile.checkFolder)
    }
}

extension SVHN {
    /// The cropped-digits `.mat` files, published one by one (downloaded into the cache's `svhn/`).
    package static func layout(includeExtra: Bool, sources: [DataSetFile]? = nil) -> DatasetLayout {
        let files = sources ?? self.files(includeExtra: includeExtra)
        return DatasetLayout(
            displayName: "SVHN", folderName: "svhn", requiredNames: files.map(\.name), downloads: files,
            archiveNameMatches: { $0.contains("svhn") },
            checkFiles: { try checkFolder($0, names: files.map(\.name)) })
    }
}

extension CINIC10 {
    /// `train/`, `valid/` and `test/`, each of ten class folders of PNG files, from the official archive.
    package static var layout: DatasetLayout {
        DatasetLayout(
            displayName: "CINIC-10", folderName: "CINIC-10", requiredNames: splitNames.map { $0 + "/" }, downloads: [archive],
            archiveNameMatches: { $0.contains("cinic") }, checkFiles: checkFolder)
    }
}
