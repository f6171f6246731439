// Training data from .npy pairs and Fashion-MNIST: every kind of bad input gives a message naming the
// file and what is wrong.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct TrainingDataTests {
    /// Writes samples and labels as .npy files in a fresh directory; returns their paths.
    func write(samples: HostTensor, labels: HostTensor) throws -> (directory: String, data: String, labels: String) {
        let directory = try temporaryTrainingDirectory()
        let data = directory + "/x.npy"
        let labelPath = directory + "/y.npy"
        try NPY.write(samples, to: data)
        try NPY.write(labels, to: labelPath)
        return (directory, data, labelPath)
    }

    func toyFiles(count: Int = 24, features: Int = 6, labelCount: Int? = nil, label: (Int) -> Int32 = { Int32($0 % 3) })
        throws -> (directory: String, data: String, labels: String)
    {
        let samples = (0..<(count * features)).map { Float($0 % 7) / 7 }
        let labels = (0..<(labelCount ?? count)).map(label)
        return try write(
            samples: HostTensor(shape: [count, features], float32: samples), labels: HostTensor(shape: [labels.count], int32: labels))
    }

    @Test func loadsANPYPairAndTrainsOnIt() throws {
        let files = try toyFiles()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        let dataset = try DataSource.npy(data: files.data, labels: files.labels).load(for: try Toy.graph())
        #expect(dataset.count == 24 && dataset.featureCount == 6 && dataset.sampleShape == [6])
        #expect(dataset.labels.prefix(4) == [0, 1, 2, 0])
        #expect(dataset.value(at: 8) == Float(1) / 7)
        let trainer = try Trainer(model: try Toy.model(), trainingSet: dataset, testSet: dataset, options: TrainingOptions(epochs: 1))
        #expect(try trainer.run().epochs.count == 1)

        // int64 labels and float64 samples are read too.
        let wide = try write(
            samples: HostTensor(shape: [2, 6], float64: (0..<12).map(Double.init)), labels: HostTensor(shape: [2], int64: [2, 1]))
        defer { try? FileManager.default.removeItem(atPath: wide.directory) }
        let other = try LabeledDataset.loadNPY(data: wide.data, labels: wide.labels)
        #expect(other.labels == [2, 1] && other.value(at: 11) == 11)
    }

    @Test func aMissingFileIsNamed() throws {
        let files = try toyFiles()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        let missing = files.directory + "/missing.npy"
        let error = try #require(thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: missing, labels: files.labels) })
        #expect(error.location?.file == missing)
        #expect(error.message.contains("cannot open"))
        let labels = try #require(thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: files.data, labels: missing) })
        #expect(labels.location?.file == missing)
    }

    @Test func samplesOfTheWrongShapeAreRefused() throws {
        // 5 features per sample for a model that takes 6.
        let files = try toyFiles(features: 5)
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        let error = try #require(
            thrownDiagnostic { _ = try DataSource.npy(data: files.data, labels: files.labels).load(for: try Toy.graph()) })
        #expect(error.location?.file == files.data)
        #expect(error.message == "each sample has shape [5] = 5 values, but input 'x' [8, 6] takes 6 = 6 values per sample")
        #expect(error.hint == "make the spec's input line match the data, e.g. 'input x [8, 5]'")

        // A 1-D array has no samples.
        let flat = try write(
            samples: HostTensor(shape: [12], float32: [Float](repeating: 0, count: 12)),
            labels: HostTensor(shape: [12], int32: [Int32](repeating: 0, count: 12)))
        defer { try? FileManager.default.removeItem(atPath: flat.directory) }
        let rank = try #require(thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: flat.data, labels: flat.labels) })
        #expect(rank.message.contains("samples have shape [12]; expected [count, features...]"))

        // Labels must be a 1-D integer array.
        let floatLabels = try write(
            samples: HostTensor(shape: [2, 6], float32: [Float](repeating: 0, count: 12)), labels: HostTensor(shape: [2], float32: [0, 1]))
        defer { try? FileManager.default.removeItem(atPath: floatLabels.directory) }
        #expect(
            thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: floatLabels.data, labels: floatLabels.labels) }?.message
                == "labels are float32; expected integer class ids (int32, int64 or uint8)")
        let matrixLabels = try write(
            samples: HostTensor(shape: [2, 6], float32: [Float](repeating: 0, count: 12)),
            labels: HostTensor(shape: [2, 1], int32: [0, 1]))
        defer { try? FileManager.default.removeItem(atPath: matrixLabels.directory) }
        #expect(
            thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: matrixLabels.data, labels: matrixLabels.labels) }?.message.contains(
                "labels have shape [2, 1]") == true)
    }

    @Test func imagesFitEitherInputLayout() throws {
        let images = LabeledDataset(samples: [Float](repeating: 0.5, count: 3 * 784), labels: [0, 9, 4], sampleShape: [1, 28, 28])
        for input in ["[16, 784]", "[16, 1, 28, 28]"] {
            let graph = try Toy.graph("input x \(input)\naffine fc out=10\nloss softmax\n")
            try images.check(for: graph, origin: "images")
        }
        let wrong = try Toy.graph("input x [16, 3, 28, 28]\naffine fc out=10\nloss softmax\n")
        let error = try #require(thrownDiagnostic { try images.check(for: wrong, origin: "images") })
        #expect(
            error.message
                == "each sample has shape [1, 28, 28] = 784 values, but input 'x' [16, 3, 28, 28] takes 3×28×28 = 2352 values per sample")
    }

    @Test func labelsOutOfRangeAreRefused() throws {
        let files = try toyFiles(label: { $0 == 17 ? 3 : Int32($0 % 3) })
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        let error = try #require(
            thrownDiagnostic { _ = try DataSource.npy(data: files.data, labels: files.labels).load(for: try Toy.graph()) })
        #expect(
            error.message.hasPrefix(
                "label 3 of sample 17 is out of range: model 'toy' has 3 classes (output [8, 3]), so labels must be in 0...2"))

        let negative = try toyFiles(label: { $0 == 2 ? -1 : 0 })
        defer { try? FileManager.default.removeItem(atPath: negative.directory) }
        let second = try #require(thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: negative.data, labels: negative.labels) })
        #expect(second.message == "label -1 of sample 2 is not a class id (0, 1, 2, ...)")
        #expect(second.location?.file == negative.labels)
    }

    @Test func labelCountMustMatchSampleCount() throws {
        let files = try toyFiles(count: 24, labelCount: 20)
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        let error = try #require(thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: files.data, labels: files.labels) })
        #expect(error.message == "20 labels for 24 samples in \(files.data)")
        #expect(error.location?.file == files.labels)
    }

    @Test func corruptFilesAreNamed() throws {
        let files = try toyFiles()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        try Data("not numpy at all".utf8).write(to: URL(fileURLWithPath: files.data))
        let error = try #require(thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: files.data, labels: files.labels) })
        #expect(error.location?.file == files.data && error.message.contains("not a .npy file"))

        let nonFinite = try write(
            samples: HostTensor(shape: [2, 6], float32: [0, 0, 0, .nan, 0, 0, 0, 0, 0, 0, 0, 0]),
            labels: HostTensor(shape: [2], int32: [0, 1]))
        defer { try? FileManager.default.removeItem(atPath: nonFinite.directory) }
        #expect(
            thrownDiagnostic { _ = try LabeledDataset.loadNPY(data: nonFinite.data, labels: nonFinite.labels) }?.message
                == "sample 0 holds a non-finite value (nan)")
    }

    @Test func dataFlagsComeInPairs() throws {
        #expect(try DataSource.npyPair(data: nil, labels: nil, dataFlag: "--data", labelsFlag: "--labels") == nil)
        #expect(
            try DataSource.npyPair(data: "x.npy", labels: "y.npy", dataFlag: "--data", labelsFlag: "--labels")
                == .npy(data: "x.npy", labels: "y.npy"))
        let error = try #require(
            thrownDiagnostic { _ = try DataSource.npyPair(data: "x.npy", labels: nil, dataFlag: "--data", labelsFlag: "--labels") })
        #expect(error.message == "--data x.npy needs --labels with its class ids")
        let other = try #require(
            thrownDiagnostic {
                _ = try DataSource.npyPair(data: nil, labels: "y.npy", dataFlag: "--test-data", labelsFlag: "--test-labels")
            })
        #expect(other.message == "--test-labels y.npy needs --test-data with its samples")
    }

    @Test func missingFashionMNISTSaysWhichPackageToInstall() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = try #require(
            thrownDiagnostic { _ = try DataSource.fashionMNIST(directory: directory, split: .train).load(for: try Toy.graph()) })
        #expect(error.message == "Fashion-MNIST file not found")
        #expect(error.location?.file == directory + "/train-images-idx3-ubyte.gz")
        #expect(error.hint?.contains("apt-get install dataset-fashion-mnist") == true)
    }

    @Test func aDenseLossCannotTrainOnClassIDs() throws {
        let graph = try Toy.graph("input x [8, 6]\naffine fc out=3\nloss mse\noptimizer sgd lr=0.1\n")
        let error = try #require(thrownDiagnostic { try Toy.trainingSet.check(for: graph, origin: "x.npy") })
        #expect(error.message.contains("loss mse takes real-valued targets"))
    }

    /// A data set of bytes under Fashion-MNIST's map, and the same values computed up front as Floats.
    static func byteAndFloatTwins(count: Int) -> (bytes: LabeledDataset, floats: LabeledDataset) {
        var rng = SplitMix64(seed: 21)
        let pixels = (0..<(count * Toy.features)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let labels = (0..<count).map { Int32($0 % Toy.classes) }
        let bytes = LabeledDataset(
            bytes: ReadOnlyBytes(pixels), scale: FashionMNIST.scale, shift: FashionMNIST.shift,
            labels: labels, sampleShape: [Toy.features], classCount: Toy.classes)
        let values = pixels.map { Float($0) * FashionMNIST.scale + FashionMNIST.shift }
        return (bytes, LabeledDataset(samples: values, labels: labels, sampleShape: [Toy.features], classCount: Toy.classes))
    }

    /// Bytes converted while staging give exactly the input that Float samples give.
    @Test(arguments: ["float32", "float64"])
    func stagingBytesMatchesStagingFloatsBitForBit(dtype: String) throws {
        let (bytes, floats) = Self.byteAndFloatTwins(count: 40)
        let model = try Toy.model(Toy.spec(dtype: dtype))
        let rows = [39, 0, 7, 7, 12, 31, 2, 20]
        let inputBytes = model.graph.inputShape.count * model.graph.dtype.byteSize
        func staged(_ dataset: LabeledDataset) -> [UInt8] {
            rows.withUnsafeBufferPointer { model.stageBatch(dataset, rows: $0) }
            return Array(UnsafeRawBufferPointer(start: model.inputBuffer, count: inputBytes))
        }
        #expect(staged(bytes) == staged(floats))
        #expect(bytes.floatValues().map(\.bitPattern) == floats.floatValues().map(\.bitPattern))
        #expect(bytes.value(at: 77).bitPattern == floats.value(at: 77).bitPattern)

        // And so does a whole run: same weights, same history.
        func train(_ dataset: LabeledDataset) throws -> ([String: HostTensor], TrainingHistory) {
            let model = try Toy.model(Toy.spec(dtype: dtype))
            let history = try Trainer(model: model, trainingSet: dataset, testSet: dataset, options: TrainingOptions(epochs: 2, seed: 4))
                .run()
            return (Toy.snapshot(model), history)
        }
        let (byteWeights, byteHistory) = try train(bytes)
        let (floatWeights, floatHistory) = try train(floats)
        #expect(byteWeights == floatWeights)
        #expect(byteHistory.epochs.map(\.testLoss) == floatHistory.epochs.map(\.testLoss))
    }

    /// uint8 samples stay bytes (the identity map); float samples stay floats.
    @Test func npyBytesStayBytes() throws {
        let pixels: [UInt8] = (0..<12).map { UInt8($0 * 20) }
        let files = try write(samples: HostTensor(shape: [2, 6], uint8: pixels), labels: HostTensor(shape: [2], int32: [0, 2]))
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        let dataset = try LabeledDataset.loadNPY(data: files.data, labels: files.labels)
        guard case .bytes(let bytes, .identity) = dataset.storage else {
            Issue.record("uint8 samples should be held as bytes with the identity map")
            return
        }
        #expect(Array(bytes) == pixels)
        #expect(dataset.floatValues() == pixels.map(Float.init))
        let floats = try toyFiles()
        defer { try? FileManager.default.removeItem(atPath: floats.directory) }
        guard case .floats = try LabeledDataset.loadNPY(data: floats.data, labels: floats.labels).storage else {
            Issue.record("float samples should be held as floats")
            return
        }
    }

    /// A missing test file is reported before loading starts (the test set loads in the background).
    @Test func requireFilesNamesAMissingFile() throws {
        let files = try toyFiles()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        try DataSource.npy(data: files.data, labels: files.labels).requireFiles()
        let missing = files.directory + "/nope.npy"
        let error = try #require(thrownDiagnostic { try DataSource.npy(data: files.data, labels: missing).requireFiles() })
        #expect(error.description == "\(missing): error: cannot open for reading: No such file or directory")
        let fashion = try #require(
            thrownDiagnostic { try DataSource.fashionMNIST(directory: files.directory, split: .test).requireFiles() })
        #expect(fashion.location?.file == files.directory + "/t10k-images-idx3-ubyte.gz")
        #expect(fashion.hint?.contains("apt-get install dataset-fashion-mnist") == true)
    }
}
