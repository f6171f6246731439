// tanh: generated kernels against the reference and numerical gradients, saturating for large |x|.

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct TanhTests {
    static let shapes: [[Int]] = [[1, 1], [2, 3], [3, 7], [7, 13], [1, 13], [2, 3, 5, 7], [3, 1, 2, 2]]

    @Test(arguments: shapes)
    func matchesReference(shape: [Int]) throws {
        try checkLayer("tanh", input: shape, modes: [.train, .test]) { inputs in
            let out = Reference.tanhForward(x: inputs.x)
            return LayerExpectation(out: out, dx: Reference.tanhBackward(dout: inputs.dout, out: out), gradients: [:])
        }
    }

    /// tanh(±800) = ±1 with zero gradient; tanh(0) = 0 with tanh'(0) = 1; tanh is odd.
    @Test(arguments: [DType.float64, .float32])
    func largeInputsSaturate(dtype: DType) throws {
        let harness = try LayerHarness(layerLine: "tanh", input: [1, 5], dtype: dtype)
        let x: [Double] = [-800, -0.5, 0, 0.5, 800]
        let out = try harness.layer.forward(x, mode: .train)
        #expect(out == [-1, -out[3], 0, out[3], 1])
        expectClose([out[3]], [tanh(0.5)], Tolerance.of(dtype), "tanh(0.5)")
        let dx = try harness.layer.backward(x, outputGradient: [1, 1, 1, 1, 1], mode: .train)
        #expect(dx[0] == 0 && dx[2] == 1 && dx[4] == 0)
    }
}
