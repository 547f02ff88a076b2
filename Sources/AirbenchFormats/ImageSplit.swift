/// One split of a 32 × 32 RGB data set (CIFAR-10, CIFAR-100, SVHN, CINIC-10; train or test): images as
/// bytes and their class labels.
///
/// Images stay as `UInt8` (3 KB each); the loader normalises to `Float` only while filling a batch,
/// because the whole training set as floats would cost four times the memory.
public struct ImageSplit: Sendable {
    /// Side of an image in pixels (every data set here is 32 × 32).
    public static let imageSide = 32
    /// Colour channels per pixel (R, G, B).
    public static let channels = 3
    /// Bytes per image: 32 × 32 × 3.
    public static let bytesPerImage = imageSide * imageSide * channels

    /// `count × 32 × 32 × 3` bytes, NHWC: images one after another, pixels row-major, RGB interleaved.
    public var images: [UInt8]
    /// One class index per image (0 ..< the data set's class count).
    public var labels: [UInt8]
    /// Number of images.
    public var count: Int

    /// Creates a split from NHWC image bytes and labels; the sizes must agree.
    public init(images: [UInt8], labels: [UInt8]) {
        precondition(
            images.count == labels.count * Self.bytesPerImage,
            "\(images.count) image bytes do not hold \(labels.count) images of \(Self.bytesPerImage) bytes")
        self.images = images
        self.labels = labels
        self.count = labels.count
    }

    /// These images followed by `other`'s.
    public func appending(_ other: ImageSplit) -> ImageSplit {
        ImageSplit(images: images + other.images, labels: labels + other.labels)
    }

    /// The images at `indices`, in that order (indices may repeat).
    public func subset(_ indices: [Int]) -> ImageSplit {
        var subsetImages = [UInt8](repeating: 0, count: indices.count * Self.bytesPerImage)
        subsetImages.withUnsafeMutableBufferPointer { destination in
            images.withUnsafeBufferPointer { source in
                for (position, index) in indices.enumerated() {
                    precondition(index >= 0 && index < count, "subset index \(index) is outside 0..<\(count)")
                    let from = source.baseAddress! + index * Self.bytesPerImage
                    let to = destination.baseAddress! + position * Self.bytesPerImage
                    to.update(from: from, count: Self.bytesPerImage)
                }
            }
        }
        return ImageSplit(images: subsetImages, labels: indices.map { labels[$0] })
    }
}
