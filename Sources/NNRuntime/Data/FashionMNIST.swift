// FashionMNIST: loads the Fashion-MNIST IDX files as a LabeledDataset of pixel bytes and the map that normalizes them.
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

    /// The spec statement with these statistics, which the Fashion-MNIST examples declare: a pixel byte `p`
    /// becomes `(p / 255 − mean) / std`.
    public static let normalizeStatement = "normalize mean=0.2860405969887955 std=0.35302424451492254"
    /// That statement's map, `Float(p) * scale + shift`.
    public static let preprocessing = Preprocessing(mean: [0.2860405969887955], std: [0.35302424451492254])
    /// `1 / (255 · std)` in float: a pixel byte's multiplier under `preprocessing`.
    public static let scale: Float = preprocessing.scale(channel: 0)
    /// `−mean / std` in float.
    public static let shift: Float = preprocessing.shift(channel: 0)

    /// Loads one split: samples of shape `[1, 28, 28]` held as raw pixel bytes (the map to values comes from
    /// the spec's `normalize`, applied by `DataSource.load(for:)`), labels in `0...9`. Throws a `Diagnostic`
    /// naming the file when a file is missing or malformed.
    ///
    /// The decompressed files are kept in `cache` (nil: no cache), so the next load runs no zlib.
    public static func load(directory: String = defaultDirectory, split: Split, cache: DecodedCache? = .standard) throws -> LabeledDataset {
        let (imagesPath, labelsPath) = paths(directory: directory, split: split)
        let images = try readIDX(path: imagesPath, cache: cache)
        let labels = try readIDX(path: labelsPath, cache: cache)

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

        let dataset = LabeledDataset(
            bytes: images.values,
            labels: labels.values.map { Int32($0) },
            sampleShape: [1, side, side],
            classCount: classCount)
        try dataset.validate(origin: imagesPath)
        return dataset
    }

    /// The images file and the labels file of `split` in `directory`.
    public static func paths(directory: String = defaultDirectory, split: Split) -> (images: String, labels: String) {
        ("\(directory)/\(split.filePrefix)-images-idx3-ubyte.gz", "\(directory)/\(split.filePrefix)-labels-idx1-ubyte.gz")
    }

    /// Throws the error `load` would throw if a file of `split` is missing, without reading anything.
    public static func requireFiles(directory: String = defaultDirectory, split: Split) throws {
        let (images, labels) = paths(directory: directory, split: split)
        for path in [images, labels] where !FileManager.default.fileExists(atPath: path) { throw missingFile(path) }
    }

    private static func missingFile(_ path: String) -> Diagnostic {
        Diagnostic(file: path, "Fashion-MNIST file not found", hint: "install the data set: apt-get install dataset-fashion-mnist")
    }

    /// `IDX.read`, with a hint to install the data set when the file is missing or damaged.
    private static func readIDX(path: String, cache: DecodedCache?) throws -> (dims: [Int], values: ReadOnlyBytes) {
        guard FileManager.default.fileExists(atPath: path) else { throw missingFile(path) }
        do {
            return try IDX.read(path: path, cache: cache)
        } catch var error as Diagnostic where error.hint == nil {
            error.hint =
                "the file is damaged; reinstall the data set: apt-get install --reinstall dataset-fashion-mnist"
            throw error
        }
    }
}
