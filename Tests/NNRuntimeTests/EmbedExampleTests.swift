// examples/embed: the C program that uses generated/fashion_mlp alone — built with gcc, clang and tcc, it
// loads a checkpoint written by the trainer, classifies Fashion-MNIST test images exactly as nngen predict
// does, trains a few steps, and saves parameters that nngen loads back.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite(.serialized) struct EmbedExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path
    static let images = FashionMNIST.defaultDirectory + "/t10k-images-idx3-ubyte.gz"
    static let labels = FashionMNIST.defaultDirectory + "/t10k-labels-idx1-ubyte.gz"

    @Test(arguments: ["gcc", "clang", "tcc"])
    func embedProgramPredictsAsNNGen(compiler: String) throws {
        try #require(GeneratedCTests.available(compiler), "\(compiler) is not installed")
        try #require(FileManager.default.fileExists(atPath: Self.images), "Fashion-MNIST is not installed")
        let directory = NSTemporaryDirectory() + "nngen-embed-example-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // A checkpoint as nngen train writes it: two steps on 256 test images.
        let graph = try ShapeInference.load(try readSpec(Self.root + "/examples/fashion_mlp.spec"), path: "examples/fashion_mlp.spec")
        let test = try FashionMNIST.load(split: .test, cache: nil).mapped(by: graph.bytePreprocessing, channels: 1)
        let subset = LabeledDataset(
            samples: Array(test.floatValues().prefix(256 * 784)), labels: Array(test.labels.prefix(256)), sampleShape: [784], classCount: 10
        )
        let model = try CompiledModel(graph: graph, backend: .tcc)
        let checkpoint = directory + "/ck.safetensors"
        try Trainer(
            model: model, trainingSet: subset, testSet: nil, options: TrainingOptions(epochs: 1, seed: 3, checkpointPath: checkpoint)
        ).run()

        let flags = compiler == "tcc" ? ["-std=c11"] : ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-pthread"]
        let library = Self.root + "/generated/fashion_mlp"
        let build = GeneratedCTests.run(
            [compiler] + flags + [
                "-I", library, "-o", directory + "/embed", Self.root + "/examples/embed/main.c", library + "/fashion_mlp.c", "-lz", "-lm",
            ])
        #expect(build.status == 0, "\(build.output)")
        let out = directory + "/trained.safetensors"
        let run = GeneratedCTests.run([directory + "/embed", checkpoint, Self.images, Self.labels, "256", out])
        #expect(run.status == 0, "\(run.output)")

        // nngen's predictions of the same images: the same class and the same float probability, bit for bit.
        let probabilities = try model.predictProbabilities(test.floatValues().prefix(256 * 784).map(Double.init), count: 256)
        let lines = run.output.split(separator: "\n").filter { $0.hasPrefix("image ") }
        #expect(lines.count == 256)
        for (i, line) in lines.enumerated() {
            let row = probabilities[i * 10..<(i + 1) * 10]
            let best = row.indices.max { row[$0] < row[$1] }.map { $0 - i * 10 } ?? -1
            let expected = "image \(i): class \(best) (p = \(hexFloat(Float(row[i * 10 + best]))))"
            #expect(String(line) == expected, "\(compiler)")
        }
        #expect(run.output.contains("accuracy "))
        #expect(run.output.split(separator: "\n").filter { $0.hasPrefix("step ") }.count == 3)

        // What the program saved loads into nngen (as nngen eval --params does).
        let back = try CompiledModel(graph: graph)
        try back.loadParameters(from: out)
        #expect(try back.tensor("fc1.weight") != model.tensor("fc1.weight"), "the C training steps changed the weights")
    }

    /// C's printf("%a") of a float promoted to double.
    func hexFloat(_ value: Float) -> String {
        let text = String(format: "%a", Double(value))
        return text
    }
}
