// TrainingData: data sets for a model — Fashion-MNIST or .npy pairs — checked against the model's input
// and output before any step runs.

import Foundation
import NNGen

/// Where a data set comes from.
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    /// One split of Fashion-MNIST, from the IDX files in `directory`.
    case fashionMNIST(directory: String, split: FashionMNIST.Split)
    /// Samples `[N, ...]` and class ids `[N]` in two `.npy` files.
    case npy(data: String, labels: String)

    public var description: String {
        switch self {
        case .fashionMNIST(let directory, let split): "Fashion-MNIST \(split.rawValue) (\(directory))"
        case .npy(let data, let labels): "\(data) + \(labels)"
        }
    }

    /// Loads the data set (without checking it against a model: see `LabeledDataset.check(for:origin:)`).
    public func load() throws -> LabeledDataset {
        switch self {
        case .fashionMNIST(let directory, let split): try FashionMNIST.load(directory: directory, split: split)
        case .npy(let data, let labels): try LabeledDataset.loadNPY(data: data, labels: labels)
        }
    }

    /// Throws the error `load()` would throw when a file of the data set is missing or cannot be opened,
    /// without reading it: a quick check before loading in the background.
    public func requireFiles() throws {
        switch self {
        case .fashionMNIST(let directory, let split):
            try FashionMNIST.requireFiles(directory: directory, split: split)
        case .npy(let data, let labels):
            for path in [data, labels] {
                let descriptor = open(path, O_RDONLY | O_NONBLOCK)  // (a FIFO must not block here)
                guard descriptor >= 0 else { throw Diagnostic(file: path, "cannot open for reading: \(FileBytes.systemError())") }
                close(descriptor)
            }
        }
    }

    /// Loads the data set, maps its bytes (if it holds bytes) by the spec's `normalize` (or b / 255 without
    /// one), and checks that it fits `graph` (sample size, class ids). Float samples are taken as already
    /// preprocessed.
    public func load(for graph: ShapedGraph) throws -> LabeledDataset {
        let dataset = try load().mapped(by: graph.bytePreprocessing, channels: graph.inputShape[1])
        try dataset.check(for: graph, origin: origin, labelsOrigin: labelsOrigin)
        return dataset
    }

    /// The `.npy` pair given by two command-line flags, nil when neither is given; an error naming the
    /// missing flag when only one is.
    public static func npyPair(data: String?, labels: String?, dataFlag: String, labelsFlag: String) throws -> DataSource? {
        switch (data, labels) {
        case (nil, nil):
            return nil
        case (let data?, let labels?):
            return .npy(data: data, labels: labels)
        case (let data?, nil):
            throw Diagnostic(
                "\(dataFlag) \(data) needs \(labelsFlag) with its class ids", hint: "give both: \(dataFlag) X.npy \(labelsFlag) Y.npy")
        case (nil, let labels?):
            throw Diagnostic(
                "\(labelsFlag) \(labels) needs \(dataFlag) with its samples", hint: "give both: \(dataFlag) X.npy \(labelsFlag) Y.npy")
        }
    }

    /// The file errors about the samples should name.
    var origin: String {
        switch self {
        case .fashionMNIST(let directory, let split): "\(directory)/\(split.filePrefix)-images-idx3-ubyte.gz"
        case .npy(let data, _): data
        }
    }

    /// The file the labels come from, named in label errors.
    var labelsOrigin: String {
        switch self {
        case .fashionMNIST(let directory, let split): "\(directory)/\(split.filePrefix)-labels-idx1-ubyte.gz"
        case .npy(_, let labels): labels
        }
    }
}

extension LabeledDataset {
    /// Loads samples from one `.npy` file and class ids from another.
    ///
    /// Samples: `[N, ...]` of float32, float64, uint8, int32 or int64 (used as Float values, not rescaled;
    /// uint8 samples are kept as bytes and converted per batch);
    /// sample `i` is row `i`, its shape is the array shape without the first dimension. Labels: `[N]` of
    /// int32, int64 or uint8. Throws a `Diagnostic` naming the file when a file is missing, malformed, or
    /// the two do not agree.
    public static func loadNPY(data: String, labels: String) throws -> LabeledDataset {
        let samples = try NPY.read(path: data)
        guard samples.shape.count >= 2 else {
            throw Diagnostic(
                file: data, "samples have shape \(TensorShape(samples.shape)); expected [count, features...] with one row per sample",
                hint: "save the samples as a 2-D [N, D] or 4-D [N, C, H, W] array")
        }
        let labelTensor = try NPY.read(path: labels)
        guard [.int32, .int64, .uint8].contains(labelTensor.elementType) else {
            throw Diagnostic(
                file: labels, "labels are \(labelTensor.elementType.rawValue); expected integer class ids (int32, int64 or uint8)",
                hint: "save them with numpy.save(path, y.astype(numpy.int32))")
        }
        guard labelTensor.shape.count == 1 else {
            throw Diagnostic(
                file: labels, "labels have shape \(TensorShape(labelTensor.shape)); expected [count], one class id per sample",
                hint: "save a 1-D array, e.g. y.reshape(-1)")
        }
        let count = samples.shape[0]
        guard labelTensor.shape[0] == count else {
            throw Diagnostic(
                file: labels, "\(labelTensor.shape[0]) labels for \(count) samples in \(data)",
                hint: "the two files need one label per sample, in the same order")
        }
        let ids = labelTensor.integers()
        if let bad = ids.firstIndex(where: { $0 < 0 || $0 > Int(Int32.max) }) {
            throw Diagnostic(file: labels, "label \(ids[bad]) of sample \(bad) is not a class id (0, 1, 2, ...)")
        }
        let storage: LabeledDataset.Storage
        if samples.elementType == .uint8 {
            storage = .bytes(ReadOnlyBytes(samples.bytes), .identity)
        } else {
            let values = samples.floats()
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                let perSample = max(Array(samples.shape.dropFirst()).reduce(1, *), 1)
                throw Diagnostic(file: data, "sample \(bad / perSample) holds a non-finite value (\(values[bad]))")
            }
            storage = .floats(values)
        }
        let dataset = LabeledDataset(storage: storage, labels: ids.map { Int32($0) }, sampleShape: Array(samples.shape.dropFirst()))
        try dataset.validate(origin: data)
        return dataset
    }

    /// Checks that this data set fits `graph`: each sample holds as many values as one input row (the
    /// input shape decides the layout, so `[N, 784]` and `[N, 1, 28, 28]` take the same samples), the
    /// loss takes class ids, and every label is a class of the network output. `origin` names the data.
    public func check(for graph: ShapedGraph, origin: String, labelsOrigin: String? = nil) throws {
        guard graph.loss.definition.target == .classIndices else {
            throw Diagnostic(
                file: graph.file,
                "loss \(graph.loss.definition.keyword) takes real-valued targets; nngen trains and evaluates on class ids",
                hint: "use a classification loss such as 'loss softmax'")
        }
        let features = graph.inputShape.featureCount
        guard featureCount == features else {
            let perSample = graph.inputShape.dims.dropFirst().map(String.init).joined(separator: "×")
            throw Diagnostic(
                file: origin,
                "each sample has shape \(TensorShape(sampleShape)) = \(featureCount) values, but input '\(graph.inputName)' \(graph.inputShape) takes \(perSample) = \(features) values per sample",
                hint: "make the spec's input line match the data, e.g. 'input \(graph.inputName) [\(graph.batch), \(featureCount)]'")
        }
        let classes = graph.outputShape.featureCount
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw Diagnostic(
                file: labelsOrigin ?? origin,
                "label \(labels[bad]) of sample \(bad) is out of range: model '\(graph.modelName)' has \(classes) classes (output \(graph.outputShape)), so labels must be in 0...\(classes - 1)",
                hint: "set the last layer's out= to the number of classes")
        }
    }
}

extension HostTensor {
    /// Every element converted to `Float` (float32 data is copied as it is).
    func floats() -> [Float] {
        switch elementType {
        case .float32:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                bytes.withUnsafeBytes { raw in
                    for index in 0..<count {
                        buffer[index] = Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
                    }
                }
                initialized = count
            }
        case .uint8:
            return bytes.map { Float($0) }
        default:
            return doubles().map { Float($0) }
        }
    }
}
