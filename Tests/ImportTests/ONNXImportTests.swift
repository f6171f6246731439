// nngen import: PyTorch models exported to ONNX (Tests/ImportTests/Fixtures, written by make_fixtures.py)
// become specs and parameter files whose test-mode output equals PyTorch's eval-mode output; unsupported
// operators and dynamic shapes are located errors.

import Foundation
import NNGen
import NNImport
import NNRuntime
import Testing

@Suite struct ONNXImportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures"

    /// The model's test-mode output for the fixture's input, and PyTorch's.
    func outputs(_ name: String, backend: Backend) throws -> (nngen: [Double], pytorch: [Double], imported: ImportedModel) {
        let imported = try ONNXImporter.importModel(path: "\(Self.fixtures)/\(name).onnx")
        let graph = try ShapeInference.load(imported.spec, path: "\(name).spec")
        let model = try CompiledModel(graph: graph, backend: backend)
        try model.importTensors(imported.tensors, origin: "\(name).onnx")
        let x = try NPY.read(path: "\(Self.fixtures)/\(name)_x.npy")
        let y = try NPY.read(path: "\(Self.fixtures)/\(name)_y.npy")
        #expect(x.shape == graph.inputShape.dims && y.shape == graph.outputShape.dims, "\(name): \(x.shape) → \(y.shape)")
        _ = try model.forward(input: x.doubles(), target: nil, mode: .test)
        return (model.output, y.doubles(), imported)
    }

    @Test(arguments: ["mlp", "cnn", "residual"], [Backend.tcc, .cc])
    func importedModelComputesPyTorchsOutput(name: String, backend: Backend) throws {
        let (ours, theirs, _) = try outputs(name, backend: backend)
        #expect(ours.count == theirs.count)
        let scale = max(theirs.map(abs).max() ?? 1, 1e-3)
        let error = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
        #expect(error / scale < 1e-5, "\(name) on \(backend): max difference \(error) (scale \(scale))")
    }

    /// nngen grad on the imported float64 model equals PyTorch's loss, logits, input gradient and every
    /// parameter gradient, recorded when the model was exported (norm-wise rtol 1e-7).
    @Test(arguments: [("mlp64", RunMode.train), ("cnn64", .train), ("concat64", .train), ("residual64", .test)])
    func gradOfTheImportedModelEqualsPyTorchs(name: String, mode: RunMode) throws {
        let directory = NSTemporaryDirectory() + "nngen-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let imported = try ONNXImporter.importModel(path: "\(Self.fixtures)/\(name).onnx")
        let graph = try ShapeInference.load(imported.spec, path: "\(name).spec")
        #expect(graph.dtype == .float64)
        if name == "concat64" { #expect(imported.spec.contains("concat") && imported.spec.contains("add ")) }
        try Safetensors.write(imported.tensors, to: directory + "/p.safetensors")
        let model = try CompiledModel(graph: graph, backend: .tcc)
        let ours = try GradientDump.run(
            model: model, parametersPath: directory + "/p.safetensors", inputPath: "\(Self.fixtures)/\(name)_x.npy",
            targetsPath: "\(Self.fixtures)/\(name)_labels.npy", mode: mode)
        let theirs = Dictionary(
            uniqueKeysWithValues: try Safetensors.read(path: "\(Self.fixtures)/\(name)_grad.safetensors").tensors.map {
                ($0.name, $0.tensor)
            })
        #expect(Set(ours.map(\.name)) == Set(theirs.keys), "\(name): \(ours.map(\.name).sorted()) vs \(theirs.keys.sorted())")
        // A gradient that is zero in exact arithmetic (a bias before batchnorm) is judged against 1e-3 of the
        // largest gradient, as everywhere in the equivalence tests, not against its own rounding noise.
        let largest = ours.filter { $0.name.hasPrefix("grad.") }.map { $0.tensor.doubles().map(abs).max() ?? 0 }.max() ?? 0
        for (key, tensor) in ours {
            let expected = try #require(theirs[key], "\(name): PyTorch recorded no \(key)")
            #expect(tensor.shape == expected.shape, "\(name) \(key): \(tensor.shape) vs \(expected.shape)")
            let a = tensor.doubles()
            let b = expected.doubles()
            let floor = key.hasPrefix("grad.") ? 1e-3 * largest : 1e-12
            let scale = max(a.map(abs).max() ?? 0, b.map(abs).max() ?? 0, floor)
            let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(error / scale < 1e-7, "\(name) \(key): relative difference \(error / scale)")
        }
    }

    @Test func specNamesTensorsAsPyTorchDoesAndCommentsTheNodes() throws {
        let imported = try ONNXImporter.importModel(path: "\(Self.fixtures)/cnn.onnx")
        #expect(imported.spec.contains("conv      conv1 filters=4 size=3 pad=1  # /conv1/Conv (Conv)"), "\(imported.spec)")
        #expect(imported.spec.contains("conv2 filters=6 size=3 stride=2 pad=1 bias=false"))
        #expect(imported.spec.contains("leakyrelu") && imported.spec.contains("slope=0.1"))
        #expect(imported.spec.contains("maxpool") && imported.spec.contains("size=2 stride=2"))
        let names = Set(imported.tensors.map(\.name))
        #expect(
            names.isSuperset(of: [
                "conv1.weight", "conv1.bias", "bn1.gamma", "bn1.beta", "bn1.running_mean", "bn1.running_var", "fc.weight",
            ]))
        // nn.Linear's [out, in] weight becomes nngen's [in, out].
        #expect(imported.tensors.first { $0.name == "fc.weight" }?.tensor.shape == [24, 3])
        let gelu = try ONNXImporter.importModel(path: "\(Self.fixtures)/residual.onnx")
        #expect(gelu.spec.contains("gelu") && gelu.spec.contains("/Erf"), "the Erf form of GELU is one gelu statement")
    }

    @Test func unsupportedOperatorsAndDynamicShapesAreLocatedErrors() throws {
        do {
            _ = try ONNXImporter.importModel(path: "\(Self.fixtures)/unsupported.onnx")
            Issue.record("Abs was imported")
        } catch let diagnostic as Diagnostic {
            #expect(diagnostic.message.contains("Abs '/Abs' (inputs x): operator Abs is not supported"), "\(diagnostic)")
            #expect(diagnostic.hint?.contains("Conv") == true)
        }
        do {
            _ = try ONNXImporter.importModel(path: "\(Self.fixtures)/dynamic.onnx")
            Issue.record("a dynamic batch was imported without --batch")
        } catch let diagnostic as Diagnostic {
            #expect(diagnostic.message.contains("dynamic batch dimension") && diagnostic.hint?.contains("--batch") == true)
        }
        let fixed = try ONNXImporter.importModel(
            path: "\(Self.fixtures)/dynamic.onnx", options: ImportOptions(batch: 8, optimizer: "sgd lr=0.05"))
        #expect(fixed.spec.contains("input x [8, 12]") && fixed.spec.contains("optimizer sgd lr=0.05"))
        // A truncated file and a corrupt protobuf: one clear error each.
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/cnn.onnx")))
        for (what, bytes) in [
            ("truncated", Array(whole.prefix(whole.count / 2))), ("corrupt", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F] + whole),
        ] {
            do {
                _ = try ONNXImporter.importModel(bytes: bytes, origin: "\(what).onnx")
                Issue.record("a \(what) file was imported")
            } catch let diagnostic as Diagnostic {
                #expect(diagnostic.description.hasPrefix("\(what).onnx: error: "), "\(diagnostic)")
            }
        }
        // Not an ONNX file at all.
        let bogus = NSTemporaryDirectory() + "nngen-bogus-\(UUID().uuidString).onnx"
        try Data("not a protobuf \u{1}\u{2}\u{3}".utf8).write(to: URL(fileURLWithPath: bogus))
        defer { try? FileManager.default.removeItem(atPath: bogus) }
        #expect(throws: Diagnostic.self) { try ONNXImporter.importModel(path: bogus) }
    }

    /// An imported model trains: two steps move the weights and the loss is finite.
    @Test func importedModelFineTunes() throws {
        let imported = try ONNXImporter.importModel(
            path: "\(Self.fixtures)/mlp.onnx", options: ImportOptions(optimizer: "sgd lr=0.1 momentum=0.9"))
        let model = try CompiledModel(graph: try ShapeInference.load(imported.spec, path: "mlp.spec"), backend: .tcc)
        try model.importTensors(imported.tensors, origin: "mlp.onnx")
        let x = try NPY.read(path: "\(Self.fixtures)/mlp_x.npy").doubles()
        let before = try model.tensor("fc1.weight")
        let first = try model.trainStep(input: x, target: .classes([0, 1, 2, 3]))
        let second = try model.trainStep(input: x, target: .classes([0, 1, 2, 3]))
        #expect(first.isFinite && second < first, "losses \(first), \(second)")
        #expect(try model.tensor("fc1.weight") != before)
    }
}
