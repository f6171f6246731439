// `nngen grad` end to end through real files: a float64 spec agrees with the reference to 1e-10.

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct GradCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "nngen-grad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(arguments: [RunMode.train, .test], [ElementType.int32, .int64])
    func tinyFloat64SpecMatchesReference(mode: RunMode, labelType: ElementType) throws {
        let specPath = Self.root + "/examples/tiny_f64.spec"
        let graph = try ShapeInference.load(try readSpec(specPath), path: specPath)
        #expect(graph.dtype == .float64)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // Parameters as `nngen init` writes them, moved off their initial values.
        let writer = try CompiledModel(graph: graph, backend: testBackend)
        writer.initialize(seed: 11)
        var tensors: [String: [Double]] = [:]
        for (i, name) in writer.tensorNames.enumerated() {
            let noise = RefTensor.random(shape: [try writer.tensor(name).count], seed: 500 + UInt64(i), scale: 0.4).data
            let values = zip(try writer.tensor(name), noise).map { name.hasSuffix("_var") ? $0 + abs($1) : $0 + $1 }
            try writer.setTensor(name, values)
            tensors[name] = values
        }
        try Safetensors.write(writer.exportTensors(), to: directory + "/params.safetensors")
        let input = RefTensor.random(shape: graph.inputShape.dims, seed: 77, scale: 1.5).data
        try NPY.write(HostTensor(shape: graph.inputShape.dims, float64: input), to: directory + "/x.npy")
        let labels = (0..<graph.batch).map { ($0 * 3 + 1) % graph.outputShape[1] }
        try NPY.write(HostTensor(shape: [graph.batch], doubles: labels.map(Double.init), as: labelType), to: directory + "/y.npy")

        let model = try CompiledModel(graph: graph, backend: testBackend)
        let dumped = try GradientDump.run(
            model: model, parametersPath: directory + "/params.safetensors",
            inputPath: directory + "/x.npy", targetsPath: directory + "/y.npy", mode: mode)
        try Safetensors.write(dumped, to: directory + "/out.safetensors")
        let read = try Safetensors.read(path: directory + "/out.safetensors").tensors
        var byName: [String: HostTensor] = [:]
        for (name, tensor) in read { byName[name] = tensor }

        let expected = ReferenceNetwork.run(graph, tensors: tensors, input: input, labels: labels, mode: mode)
        #expect(byName["loss"]?.elementType == .float64)
        expectClose(byName["loss"]?.doubles() ?? [], [expected.loss], 1e-10, "loss")
        expectClose(byName["output"]?.doubles() ?? [], expected.output, 1e-10, "output")
        #expect(byName["output"]?.shape == graph.outputShape.dims)
        let floor = gradientFloor([expected.inputGradient] + Array(expected.gradients.values))
        expectClose(byName["grad.input"]?.doubles() ?? [], expected.inputGradient, 1e-10, "grad.input", floor: floor)
        #expect(byName["grad.input"]?.shape == graph.inputShape.dims)
        for name in model.parameterNames {
            expectClose(byName["grad." + name]?.doubles() ?? [], expected.gradients[name] ?? [], 1e-10, "grad.\(name)", floor: floor)
        }
        #expect(read.count == 3 + model.parameterNames.count)
    }

    @Test func rejectsWrongInputShapeAndBadLabels() throws {
        let specPath = Self.root + "/examples/tiny_f64.spec"
        let model = try CompiledModel(specPath: specPath, backend: testBackend)
        model.initialize(seed: 1)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Safetensors.write(model.exportTensors(), to: directory + "/p.safetensors")
        try NPY.write(HostTensor(shape: [4, 18], float64: [Double](repeating: 0, count: 72)), to: directory + "/flat.npy")
        try NPY.write(HostTensor(shape: [4, 2, 3, 3], float64: [Double](repeating: 0, count: 72)), to: directory + "/x.npy")
        try NPY.write(HostTensor(shape: [4], int32: [0, 1, 9, 2]), to: directory + "/bad.npy")
        try NPY.write(HostTensor(shape: [4], float32: [0, 1, 2, 3]), to: directory + "/float.npy")
        func message(_ input: String, _ labels: String) -> String {
            do {
                _ = try GradientDump.run(
                    model: model, parametersPath: directory + "/p.safetensors", inputPath: directory + "/" + input,
                    targetsPath: directory + "/" + labels, mode: .train)
                return "no error"
            } catch let d as Diagnostic { return d.description } catch { return "\(error)" }
        }
        #expect(message("flat.npy", "bad.npy").contains("input has shape [4, 18]; 'x' is [4, 2, 3, 3]"))
        #expect(message("x.npy", "bad.npy").contains("label 9 at index 2 is not a class id in 0..<5"))
        #expect(message("x.npy", "float.npy").contains("labels are float32; expected int32 or int64"))
    }
}
