// The spec's normalize statement: parsed and checked, applied to byte samples when they are staged (per
// channel), recorded in checkpoints, and the warning for float inputs that look raw.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct PreprocessingTests {
    static let rgb = """
        input x [2, 3, 2, 2]
        normalize mean=0.5,0.25,0 std=0.5,0.25,1 max=255
        dtype float64
        affine fc out=2
        loss softmax
        optimizer sgd lr=0.1
        """

    @Test func parsedPerChannel() throws {
        let graph = try ShapeInference.load(Self.rgb, path: "rgb.spec")
        let p = try #require(graph.preprocessing)
        #expect(p.mean == [0.5, 0.25, 0] && p.std == [0.5, 0.25, 1] && p.max == 255)
        #expect(p.specText == "normalize mean=0.5,0.25,0 std=0.5,0.25,1 max=255")
        let plain = try ShapeInference.load("input x [2, 4]\naffine fc out=2\nloss softmax", path: "p.spec")
        #expect(plain.preprocessing == nil && plain.bytePreprocessing == .bytesToUnitRange)
    }

    @Test(arguments: [
        (
            "input x [2, 3, 2, 2]\nnormalize mean=0.5,0.5 std=1\naffine fc out=2\nloss softmax",
            "normalize mean has 2 values; input [2, 3, 2, 2] has 3 channels"
        ),
        ("input x [2, 4]\nnormalize mean=0.5 std=0\naffine fc out=2\nloss softmax", "bad value '0' for 'std' of normalize"),
        ("input x [2, 4]\nnormalize std=1\naffine fc out=2\nloss softmax", "normalize is missing required attribute 'mean'"),
        ("input x [2, 4]\nnormalize mean=0 std=1\nnormalize mean=0 std=1\naffine fc out=2\nloss softmax", "'normalize' is given twice"),
        ("input x [2, 4]\nnormalize mean=0 std=1 max=1,2\naffine fc out=2\nloss softmax", "'max' of normalize takes one value, not a list"),
    ])
    func rejects(spec: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) { try ShapeInference.load(spec, path: "bad.spec") }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
    }

    /// Each channel's bytes become (b / 255 − mean[c]) / std[c], computed as Float(b)·scale[c] + shift[c].
    @Test func bytesAreMappedPerChannelWhenStaged() throws {
        let graph = try ShapeInference.load(Self.rgb, path: "rgb.spec")
        let model = try CompiledModel(graph: graph)
        let pixels: [UInt8] = (0..<24).map { UInt8($0 * 10) }
        let raw = LabeledDataset(bytes: ReadOnlyBytes(pixels), labels: [0, 1], sampleShape: [3, 2, 2])
        let dataset = raw.mapped(by: graph.bytePreprocessing, channels: 3)
        [0, 1].withUnsafeBufferPointer { model.stageBatch(dataset, rows: $0) }
        let staged = model.load(from: model.inputBuffer, offset: 0, count: 24)
        let p = try #require(graph.preprocessing)
        for i in 0..<24 {
            let c = i / 4 % 3
            let expected = Double(Float(pixels[i]) * p.scale(channel: c) + p.shift(channel: c))
            #expect(staged[i] == expected)
            #expect(abs(staged[i] - (Double(pixels[i]) / 255 - p.mean[c]) / p.std[c]) < 1e-5)
        }
    }

    @Test func checkpointsRecordThePreprocessing() throws {
        let graph = try ShapeInference.load(Self.rgb, path: "rgb.spec")
        let model = try CompiledModel(graph: graph)
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let dataset = LabeledDataset(samples: (0..<48).map { Float($0) / 48 }, labels: [0, 1, 0, 1], sampleShape: [3, 2, 2])
        try Trainer(
            model: model, trainingSet: dataset, testSet: nil,
            options: TrainingOptions(epochs: 1, checkpointPath: directory + "/c.safetensors")
        ).run()
        let metadata = try Safetensors.read(path: directory + "/c.safetensors").metadata
        #expect(metadata["preprocess"] == "normalize mean=0.5,0.25,0 std=0.5,0.25,1 max=255")
    }

    @Test func rawLookingFloatsDrawAWarning() throws {
        let graph = try ShapeInference.load(
            "input x [2, 4]\n" + FashionMNIST.normalizeStatement + "\naffine fc out=2\nloss softmax", path: "f.spec")
        let raw: [Double] = [0, 12, 255, 77, 3, 0, 128, 9]
        #expect(InputSanity.warning(raw, graph: graph)?.hasPrefix("the input holds whole numbers from 0 to 255") == true)
        let scaled = raw.map { $0 / 255 }
        #expect(InputSanity.warning(scaled, graph: graph)?.hasPrefix("the input lies in [0, 1]") == true)
        let normalized = raw.map { ($0 / 255 - 0.2860405969887955) / 0.35302424451492254 }
        #expect(InputSanity.warning(normalized, graph: graph) == nil)
        let noNormalize = try ShapeInference.load("input x [2, 4]\naffine fc out=2\nloss softmax", path: "g.spec")
        #expect(InputSanity.warning(raw, graph: noNormalize) == nil)
    }
}
