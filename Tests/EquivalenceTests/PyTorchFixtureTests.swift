// Graphs and the PyTorch-compatible layers against PyTorch itself: `nngen grad` on the fixtures that
// Fixtures/pytorch/make_fixtures.py wrote with torch (float64, train mode) gives PyTorch's loss, output,
// input gradient and every parameter gradient. PyTorch is not needed to run this. (CommandLineTests runs one
// of them through the nngen binary.)

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct PyTorchFixtureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pytorch").path
    static let cases = ["residual", "rules", "merge"]

    /// PyTorch's own float64 arithmetic differs from ours in summation order only.
    static let tolerance = 1e-9

    @Test(arguments: cases, [Backend.tcc, .cc])
    func gradMatchesPyTorch(name: String, backend: Backend) throws {
        let base = Self.folder + "/" + name
        let model = try CompiledModel(specPath: base + ".spec", backend: backend)
        #expect(model.graph.dtype == .float64)
        let got = try GradientDump.run(
            model: model, parametersPath: base + ".params.safetensors", inputPath: base + ".x.npy", targetsPath: base + ".y.npy",
            mode: .train)
        let expected = try Safetensors.read(path: base + ".expected.safetensors").tensors
        #expect(Set(got.map(\.name)) == Set(expected.map(\.name)), "\(name): the same keys as PyTorch's dump")
        let floor = gradientFloor(expected.filter { $0.name.hasPrefix("grad.") }.map { $0.tensor.doubles() })
        for (key, tensor) in expected {
            let mine = try #require(got.first { $0.name == key }, "\(name): no \(key)")
            #expect(mine.tensor.shape == tensor.shape, "\(name) \(key) shape")
            expectClose(
                mine.tensor.doubles(), tensor.doubles(), Self.tolerance, "\(name) \(key) vs PyTorch (\(backend.rawValue))",
                floor: key.hasPrefix("grad.") ? floor : 0)
        }
    }
}
