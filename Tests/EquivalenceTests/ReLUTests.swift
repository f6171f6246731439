// relu: generated kernels against the reference and numerical gradients.

import NNGen
import Testing

@Suite struct ReLUTests {
    static let shapes: [[Int]] = [[1, 1], [2, 3], [3, 13], [1, 7], [2, 3, 5, 7], [13, 2]]

    @Test(arguments: shapes)
    func matchesReference(shape: [Int]) throws {
        try checkLayer("relu", input: shape) { inputs in
            LayerExpectation(
                out: Reference.reluForward(x: inputs.x),
                dx: Reference.reluBackward(dout: inputs.dout, x: inputs.x), gradients: [:])
        }
    }

    @Test func zeroInputHasZeroGradient() throws {
        let harness = try LayerHarness(layerLine: "relu", input: [1, 3], dtype: .float64)
        let out = try harness.layer.forward([-1, 0, 2], mode: .train)
        #expect(out == [0, 0, 2])
        #expect(try harness.layer.backward([-1, 0, 2], outputGradient: [5, 6, 7], mode: .train) == [0, 0, 7])
    }
}
