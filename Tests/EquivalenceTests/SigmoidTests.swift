// sigmoid: generated kernels against the reference and numerical gradients, stable for large |x|.

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct SigmoidTests {
    static let shapes: [[Int]] = [[1, 1], [2, 3], [3, 7], [7, 13], [1, 13], [2, 3, 5, 7], [3, 1, 2, 2]]

    @Test(arguments: shapes)
    func matchesReference(shape: [Int]) throws {
        try checkLayer("sigmoid", input: shape, modes: [.train, .test]) { inputs in
            let out = Reference.sigmoidForward(x: inputs.x)
            return LayerExpectation(out: out, dx: Reference.sigmoidBackward(dout: inputs.dout, out: out), gradients: [:])
        }
    }

    /// exp never overflows: σ(−800) and σ(800) are 0 and 1 (not NaN) with zero gradient; σ(0) = 1/2, σ'(0) = 1/4.
    @Test(arguments: [DType.float64, .float32])
    func largeInputsAreStable(dtype: DType) throws {
        let harness = try LayerHarness(layerLine: "sigmoid", input: [1, 5], dtype: dtype)
        let x: [Double] = [-800, -40, 0, 40, 800]
        let out = try harness.layer.forward(x, mode: .train)
        #expect(out.allSatisfy { $0.isFinite })
        #expect(out[0] >= 0 && out[0] < 1e-300)
        #expect(out[2] == 0.5)
        #expect(out[4] == 1)
        expectClose([out[1]], [1 / (1 + exp(40.0))], Tolerance.of(dtype), "σ(−40)")
        expectClose([out[3]], [1 / (1 + exp(-40.0))], Tolerance.of(dtype), "σ(40)")
        let dx = try harness.layer.backward(x, outputGradient: [1, 1, 1, 1, 1], mode: .train)
        #expect(dx.allSatisfy { $0.isFinite })
        #expect(dx[2] == 0.25)
        #expect(dx[0] == 0 && dx[4] == 0)
    }
}
