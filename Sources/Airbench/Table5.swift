import AirbenchData

extension Method {
    /// The paper's Table 5 (spec D.7): airbench96 (paper version) on CIFAR-10, CIFAR-100, CINIC-10 and SVHN,
    /// without retuning, each with and without its 12-pixel Cutout. The only change per data set is the paper's:
    /// no flipping for SVHN (`Hyperparameters.adapted(to:)`). `published` holds the paper's airbench96 accuracy.
    public static let table5: [Method] = [
        (DatasetName.cifar10, "95.61%", "96.05%"), (.cifar100, "79.27%", "79.76%"),
        (.cinic10, "87.78%", "88.22%"), (.svhn, "97.38%", "97.64%"),
    ].flatMap { name, withoutCutout, withCutout in
        [(false, withoutCutout), (true, withCutout)].map { cutout, accuracy in
            let dataset = DatasetSelection(name)
            var h = airbench96.hyperparameters.adapted(to: dataset)
            h.method = "table5-\(name.rawValue)" + (cutout ? "-cutout" : "")
            h.cutout = cutout ? airbench96.hyperparameters.cutout : 0
            let flip = name.mirrorable ? "" : ", no flipping"
            return Method(name: h.method,
                          summary: "Table 5: airbench96 on \(name.displayName) \(cutout ? "with" : "without") Cutout\(flip)",
                          published: "\(accuracy) (airbench96 in the paper's Table 5)", hyperparameters: h, dataset: dataset)
        }
    }
}

extension Hyperparameters {
    /// The method as the paper runs it on `dataset` without retuning (Table 5): the same values everywhere,
    /// except that data sets whose mirrored images change class (SVHN) are not flipped. (Their test-time
    /// augmentation leaves the mirrored views out too: `Dataset.mirrorable`.)
    public func adapted(to dataset: DatasetSelection) -> Hyperparameters {
        var h = self
        if !dataset.name.mirrorable { h.flip = .none }
        return h
    }
}
