// leakyrelu: generated kernels against the reference, numerical gradients and PyTorch's values.

import NNGen
import NNRuntime
import Testing

@Suite struct LeakyReLUTests {
    static let cases: [(shape: [Int], slope: Double)] = [
        ([1, 1], 0.01), ([2, 3], 0.2), ([3, 7], 0.01), ([2, 3, 5, 7], 0.1), ([1, 13], 0),
    ]

    @Test(arguments: cases.indices)
    func matchesReference(index: Int) throws {
        let (shape, slope) = Self.cases[index]
        try checkLayer("leakyrelu l slope=\(slope)", input: shape, modes: [.train, .test]) { inputs in
            LayerExpectation(
                out: Reference.leakyReluForward(x: inputs.x, slope: slope),
                dx: Reference.leakyReluBackward(dout: inputs.dout, x: inputs.x, slope: slope), gradients: [:])
        }
    }

    /// torch.nn.functional.leaky_relu([-2, 0, 3], 0.01) = [-0.02, 0, 3]; its gradient is [0.01, 0.01, 1].
    @Test func pytorchValues() throws {
        let harness = try LayerHarness(layerLine: "leakyrelu", input: [1, 3], dtype: .float64)
        #expect(try harness.layer.forward([-2, 0, 3], mode: .train) == [-0.02, 0, 3])
        #expect(try harness.layer.backward([-2, 0, 3], outputGradient: [1, 1, 1], mode: .train) == [0.01, 0.01, 1])
    }
}
