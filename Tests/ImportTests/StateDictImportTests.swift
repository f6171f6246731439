// nngen import-weights: a PyTorch-style state_dict of each example spec (module names unlike the spec's,
// Linear weights [out, in], batchnorm weight/bias and num_batches_tracked) maps back onto the spec exactly.

import Foundation
import NNGen
import NNImport
import NNRuntime
import Testing

@Suite struct StateDictImportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// The model's parameters and buffers as PyTorch would save them: modules `net.0`, `net.1`, ... in
    /// spec order (or the spec's own names with `byName`).
    static func stateDict(of model: CompiledModel, byName: Bool) throws -> [(name: String, tensor: HostTensor)] {
        var out: [(name: String, tensor: HostTensor)] = []
        let element = model.graph.dtype.elementType
        for (index, layer) in model.graph.layers.enumerated() where !layer.instance.parameters.isEmpty {
            let module = byName ? layer.name : "net.\(index)"
            for spec in layer.instance.parameters + layer.instance.buffers {
                let values = try model.tensor("\(layer.name).\(spec.suffix)")
                var shape = spec.shape.dims
                var torchValues = values
                if layer.kind == "affine", spec.suffix == "weight" {
                    let (rows, cols) = (shape[0], shape[1])  // nngen [in, out] → PyTorch [out, in]
                    torchValues = (0..<rows * cols).map { i in values[(i % rows) * cols + i / rows] }
                    shape = [cols, rows]
                }
                let suffix = ["gamma": "weight", "beta": "bias"][spec.suffix] ?? spec.suffix
                out.append(("\(module).\(suffix)", HostTensor(shape: shape, doubles: torchValues, as: element)))
            }
            if layer.kind == "batchnorm" { out.append(("\(module).num_batches_tracked", HostTensor(shape: [], doubles: [7], as: .int64))) }
        }
        return out
    }

    @Test(arguments: ["fashion_mlp", "fashion_cnn", "tiny_f64", "fashion_mcu"], [false, true])
    func stateDictRoundTrips(spec: String, byName: Bool) throws {
        let graph = try ShapeInference.load(try readSpec(Self.root + "/examples/\(spec).spec"), path: spec + ".spec")
        let model = try CompiledModel(graph: graph, backend: .tcc)
        model.initialize(seed: 3)
        var rng = SplitMix64(seed: 5)
        for name in model.tensorNames {
            let count = try model.shape(of: name).count
            try model.setTensor(name, (0..<count).map { _ in name.hasSuffix("running_var") ? 0.5 + abs(rng.normal()) : rng.normal() })
        }
        let (tensors, decisions) = try StateDictImporter.convert(
            stateDict: try Self.stateDict(of: model, byName: byName), graph: graph, origin: "state_dict.safetensors")
        let expected = Dictionary(uniqueKeysWithValues: model.exportTensors().map { ($0.name, $0.tensor) })
        #expect(tensors.count == expected.count)
        for (name, tensor) in tensors { #expect(tensor == expected[name], "\(spec): \(name)") }
        #expect(decisions.contains { $0.contains("transposed to") }, "\(decisions)")
        if graph.layers.contains(where: { $0.kind == "batchnorm" }) {
            #expect(decisions.contains { $0.hasPrefix("dropped ") && $0.contains("num_batches_tracked") })
        }
        if !byName { #expect(decisions.contains { $0.contains("matched in order") }) }
    }

    @Test func ambiguityAndLeftoversAreErrors() throws {
        let graph = try ShapeInference.load(try readSpec(Self.root + "/examples/fashion_mlp.spec"), path: "fashion_mlp.spec")
        let model = try CompiledModel(graph: graph, backend: .tcc)
        model.initialize(seed: 1)
        let full = try Self.stateDict(of: model, byName: false)
        let missing = full.filter { !$0.name.hasPrefix("net.3.") }  // one linear module fewer
        #expect(throws: Diagnostic.self) { try StateDictImporter.convert(stateDict: missing, graph: graph, origin: "sd") }
        let extra = full + [("head.weight", HostTensor(shape: [2, 2], doubles: [0, 0, 0, 0], as: .float32))]
        #expect(throws: Diagnostic.self) { try StateDictImporter.convert(stateDict: extra, graph: graph, origin: "sd") }
        // A transposed weight loaded directly says so.
        var tensors = model.exportTensors()
        let index = try #require(tensors.firstIndex { $0.name == "fc1.weight" })
        tensors[index].tensor = HostTensor(shape: [512, 784], doubles: tensors[index].tensor.doubles(), as: .float32)
        do {
            try model.importTensors(tensors, origin: "sd")
            Issue.record("a transposed weight loaded")
        } catch let diagnostic as Diagnostic {
            #expect(diagnostic.message.contains("transposed?") && diagnostic.hint?.contains("import-weights") == true, "\(diagnostic)")
        }
    }
}
