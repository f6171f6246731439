// affine: generated kernels against the reference and numerical gradients, over awkward shapes, with and
// without a bias.

import NNGen
import Testing

@Suite struct AffineTests {
    static let cases: [(input: [Int], out: Int, bias: Bool)] = [
        ([1, 1], 1, true), ([1, 3], 7, true), ([2, 13], 3, true), ([3, 7], 13, true), ([2, 2, 3, 3], 5, true),
        ([7, 1], 2, true), ([4, 1, 2, 3], 1, true), ([13, 5], 4, true),
        ([2, 13], 3, false), ([1, 1], 1, false), ([5, 2, 3, 3], 9, false),
    ]

    @Test(arguments: cases.indices)
    func matchesReference(index: Int) throws {
        let (input, out, bias) = Self.cases[index]
        try checkLayer("affine fc out=\(out)" + (bias ? "" : " bias=false"), input: input) { inputs in
            let n = inputs.shape[0]
            let x = inputs.x.reshaped([n, inputs.x.count / n])
            let w = inputs.parameters["weight"]!
            let b = inputs.parameters["bias"] ?? RefTensor(shape: [out], data: [Double](repeating: 0, count: out))
            let forward = Reference.affineForward(x: x, w: w, b: b)
            let backward = Reference.affineBackward(dout: inputs.dout, x: x, w: w)
            var gradients = ["weight": backward.dw]
            if bias { gradients["bias"] = backward.db }
            return LayerExpectation(out: forward, dx: backward.dx, gradients: gradients)
        }
    }

    @Test func noBiasTensorWithoutBias() throws {
        let graph = try ShapeInference.load("input x [2, 5]\naffine fc out=3 bias=false\nloss softmax", path: "a.spec")
        #expect(graph.layers[0].instance.parameters.map(\.suffix) == ["weight"])
        #expect(graph.parameterCount == 15)
    }
}
