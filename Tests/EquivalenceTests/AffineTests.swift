// affine: generated kernels against the reference and numerical gradients, over awkward shapes.

import NNGen
import Testing

@Suite struct AffineTests {
    static let cases: [(input: [Int], out: Int)] = [
        ([1, 1], 1), ([1, 3], 7), ([2, 13], 3), ([3, 7], 13), ([2, 2, 3, 3], 5), ([7, 1], 2), ([4, 1, 2, 3], 1), ([13, 5], 4),
    ]

    @Test(arguments: cases.indices)
    func matchesReference(index: Int) throws {
        let (input, out) = Self.cases[index]
        try checkLayer("affine fc out=\(out)", input: input) { inputs in
            let n = inputs.shape[0]
            let x = inputs.x.reshaped([n, inputs.x.count / n])
            let w = inputs.parameters["weight"]!
            let b = inputs.parameters["bias"]!
            let forward = Reference.affineForward(x: x, w: w, b: b)
            let backward = Reference.affineBackward(dout: inputs.dout, x: x, w: w)
            return LayerExpectation(out: forward, dx: backward.dx, gradients: ["weight": backward.dw, "bias": backward.db])
        }
    }
}
