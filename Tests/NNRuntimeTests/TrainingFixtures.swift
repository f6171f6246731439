// Small synthetic data sets and specs for the training tests: a linearly separable toy problem that
// trains in a fraction of a second.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

enum Toy {
    static let features = 6
    static let classes = 3

    /// A toy spec: 6 features, 3 classes, batch 8 (so 240 samples give 30 steps per epoch).
    static func spec(
        name: String = "toy", batch: Int = 8, dtype: String = "float64", hidden: Int = 16, batchnorm: Bool = true,
        optimizer: String = "sgd lr=0.02 momentum=0.9", schedule: String? = nil
    ) -> String {
        """
        model \(name)
        input x [\(batch), \(features)]
        dtype \(dtype)
        affine fc1 out=\(hidden)
        \(batchnorm ? "batchnorm bn1" : "")
        relu
        affine fc2 out=\(classes)
        loss softmax
        optimizer \(optimizer)
        \(schedule.map { "schedule \($0)" } ?? "")
        """
    }

    static func graph(_ text: String = spec()) throws -> ShapedGraph {
        try ShapeInference.load(text, path: "toy.spec")
    }

    static func model(_ text: String = spec()) throws -> CompiledModel {
        try CompiledModel(graph: try graph(text), backend: .tcc)
    }

    /// `count` samples with Gaussian features; the label is the argmax of a fixed linear map of the
    /// features, so a linear classifier separates the classes exactly.
    static func dataset(count: Int, seed: UInt64) -> LabeledDataset {
        var rng = SplitMix64(seed: seed)
        var weights = SplitMix64(seed: 99)
        let map = (0..<(features * classes)).map { _ in weights.normal() }
        var samples: [Float] = []
        var labels: [Int32] = []
        for _ in 0..<count {
            let x = (0..<features).map { _ in Float(rng.normal()) }
            let scores = (0..<classes).map { k in (0..<features).reduce(0.0) { $0 + Double(x[$1]) * map[$1 * classes + k] } }
            samples += x
            labels.append(Int32(scores.indices.max { scores[$0] < scores[$1] } ?? 0))
        }
        return LabeledDataset(samples: samples, labels: labels, sampleShape: [features], classCount: classes)
    }

    static let trainingSet = dataset(count: 240, seed: 1)
    /// 61 samples: not a multiple of the batch, so evaluation pads its last batch.
    static let testSet = dataset(count: 61, seed: 2)

    /// Every parameter, buffer and optimizer state tensor, for bit-for-bit comparisons.
    static func snapshot(_ model: CompiledModel) -> [String: HostTensor] {
        Dictionary(uniqueKeysWithValues: (model.exportTensors() + model.exportOptimizerState()).map { ($0.name, $0.tensor) })
    }
}

/// A fresh empty directory under the system temporary directory.
func temporaryTrainingDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "nngen-train-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The `Diagnostic` that `body` throws, or nil if it throws none (or another error).
func thrownDiagnostic(_ body: () throws -> Void) -> Diagnostic? {
    do {
        try body()
        return nil
    } catch let diagnostic as Diagnostic {
        return diagnostic
    } catch {
        return nil
    }
}

/// A fresh temporary folder holding `x.npy` (`samples` float64 images [samples, 2, 3, 3], normal values from
/// `seed`) and `y.npy` (int32 class ids `label(i)` in 0 ..< 5): the data of the command-line tests.
enum ImageFolder {
    static func make(prefix: String, samples: Int, seed: UInt64, label: (Int) -> Int) throws -> String {
        let directory = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: seed)
        let x = HostTensor(shape: [samples, 2, 3, 3], doubles: (0..<samples * 18).map { _ in rng.normal() }, as: .float64)
        try NPY.write(x, to: directory + "/x.npy")
        try NPY.write(HostTensor(shape: [samples], doubles: (0..<samples).map { Double(label($0)) }, as: .int32), to: directory + "/y.npy")
        return directory
    }
}
