// FashionMNIST: loads the Fashion-MNIST images and labels (IDX files) as a normalized Dataset.
import Foundation
import NNGen

/// The Fashion-MNIST data set: 28×28 grey images of clothes in 10 classes, 60 000 for training and
/// 10 000 for testing (Debian package `dataset-fashion-mnist`).
public enum FashionMNIST {
    /// Where the Debian package installs the four `.gz` IDX files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// Which half of the data set.
    public enum Split: String, Sendable, CaseIterable {
        case train, test

        /// The file name prefix: `train` or `t10k`.
        var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// The image side, in pixels.
    public static let side = 28
    /// The number of classes (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
    /// Ankle boot).
    public static let classCount = 10

    /// The mean of all training pixels scaled to [0, 1].
    ///
    /// Computed once, in float64, over the 60 000 × 784 = 47 040 000 pixels of `train-images-idx3-ubyte.gz`:
    /// ```
    /// mean = Σ (p / 255) / N
    /// ```
    public static let mean: Float = 0.2860405969887955
    /// The standard deviation of all training pixels scaled to [0, 1], over the same pixels:
    /// ```
    /// std = sqrt(Σ (p / 255 − mean)² / N)        (population form, N = 47 040 000)
    /// ```
    public static let std: Float = 0.35302424451492254

    /// Loads one split: samples of shape `[1, 28, 28]` with pixels mapped to `(p / 255 − mean) / std`,
    /// labels in `0...9`. Throws a `Diagnostic` naming the file when a file is missing or malformed.
    public static func load(directory: String = defaultDirectory, split: Split) throws -> Dataset {
        let imagesPath = "\(directory)/\(split.filePrefix)-images-idx3-ubyte.gz"
        let labelsPath = "\(directory)/\(split.filePrefix)-labels-idx1-ubyte.gz"
        let images = try readIDX(path: imagesPath)
        let labels = try readIDX(path: labelsPath)

        guard images.dims.count == 3, images.dims[1] == side, images.dims[2] == side else {
            throw Diagnostic(file: imagesPath, "expected images of shape [count, 28, 28], found \(images.dims)")
        }
        guard labels.dims.count == 1 else {
            throw Diagnostic(file: labelsPath, "expected labels of shape [count], found \(labels.dims)")
        }
        guard images.dims[0] == labels.dims[0] else {
            throw Diagnostic(
                file: labelsPath, "\(labels.dims[0]) labels for \(images.dims[0]) images in \(imagesPath)")
        }
        if let index = labels.values.firstIndex(where: { Int($0) >= classCount }) {
            throw Diagnostic(
                file: labelsPath, "label \(labels.values[index]) of sample \(index) is out of range 0...9")
        }

        let dataset = Dataset(
            samples: normalize(images.values),
            labels: labels.values.map { Int32($0) },
            sampleShape: [1, side, side],
            classCount: classCount)
        try dataset.validate(origin: imagesPath)
        return dataset
    }

    /// Maps every pixel `p` to `(p / 255 − mean) / std`, computed as `p · scale + shift`.
    static func normalize(_ pixels: [UInt8]) -> [Float] {
        let scale = 1 / (255 * std)
        let shift = -mean / std
        return [Float](unsafeUninitializedCapacity: pixels.count) { floats, initialized in
            pixels.withUnsafeBufferPointer { pixels in
                for index in pixels.indices {
                    floats[index] = Float(pixels[index]) * scale + shift
                }
            }
            initialized = pixels.count
        }
    }

    /// `IDX.read`, with a hint to install the data set when the file is missing or damaged.
    private static func readIDX(path: String) throws -> (dims: [Int], values: [UInt8]) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Diagnostic(
                file: path, "Fashion-MNIST file not found",
                hint: "install the data set: apt-get install dataset-fashion-mnist")
        }
        do {
            return try IDX.read(path: path)
        } catch var error as Diagnostic where error.hint == nil {
            error.hint =
                "the file is damaged; reinstall the data set: apt-get install --reinstall dataset-fashion-mnist"
            throw error
        }
    }
}
