// gelu: generated kernels against the reference, numerical gradients and PyTorch's values.

import NNGen
import NNRuntime
import Testing

@Suite struct GELUTests {
    static let shapes: [[Int]] = [[1, 1], [2, 3], [3, 7], [2, 3, 5, 7], [1, 13]]

    @Test(arguments: shapes)
    func matchesReference(shape: [Int]) throws {
        try checkLayer("gelu", input: shape, modes: [.train, .test]) { inputs in
            LayerExpectation(
                out: Reference.geluForward(x: inputs.x), dx: Reference.geluBackward(dout: inputs.dout, x: inputs.x), gradients: [:])
        }
    }

    /// torch.nn.functional.gelu(torch.tensor([-3, -1, 0, 1, 2], dtype=torch.float64)) and its gradient
    /// (torch 2.13, CPU), to 1e-15.
    @Test func pytorchValues() throws {
        let harness = try LayerHarness(layerLine: "gelu", input: [1, 5], dtype: .float64)
        let x: [Double] = [-3, -1, 0, 1, 2]
        expectClose(
            try harness.layer.forward(x, mode: .train),
            [-0.00404969409489031, -0.15865525393145702, 0, 0.841344746068543, 1.9544997361036416],
            1e-15, "gelu")
        expectClose(
            try harness.layer.backward(x, outputGradient: [1, 1, 1, 1, 1], mode: .train),
            [-0.01194564720418392, -0.08331547058768635, 0.5, 1.0833154705876864, 1.085231801078197], 1e-15, "gelu'")
    }
}
