// maxpool: generated kernels against the reference pooling and numerical gradients, over square and
// non-square windows, overlapping and disjoint strides, and ties.

import NNGen
import NNRuntime
import Testing

@Suite struct MaxPoolTests {
    /// One configuration: input [N, C, H, W], window KH×KW, stride (nil: the window size).
    struct Case: CustomStringConvertible, Sendable {
        var input: [Int]
        var window: (Int, Int)
        var stride: Int?

        var line: String {
            let size = window.0 == window.1 ? "\(window.0)" : "\(window.0)x\(window.1)"
            return "maxpool p size=\(size)" + (stride.map { " stride=\($0)" } ?? "")
        }
        /// (SH, SW): the given stride on both axes, or the window.
        var steps: (Int, Int) { stride.map { ($0, $0) } ?? window }
        var description: String { "\(line) on \(input)" }
    }

    static let cases: [Case] = [
        Case(input: [1, 1, 1, 1], window: (1, 1), stride: nil),  // identity
        Case(input: [2, 1, 3, 3], window: (3, 3), stride: nil),  // one window: the global max
        Case(input: [1, 2, 4, 4], window: (2, 2), stride: nil),  // the classic 2×2 halving
        Case(input: [1, 3, 5, 5], window: (2, 2), stride: 1),  // overlapping windows accumulate
        Case(input: [2, 3, 7, 7], window: (3, 3), stride: 2),
        Case(input: [2, 1, 13, 13], window: (3, 3), stride: 2),
        Case(input: [1, 3, 13, 13], window: (5, 5), stride: 2),
        Case(input: [2, 3, 5, 5], window: (5, 5), stride: nil),
        Case(input: [1, 1, 7, 7], window: (1, 1), stride: 3),  // strided subsampling, windows apart
        Case(input: [2, 3, 3, 3], window: (2, 2), stride: 1),
        Case(input: [2, 2, 13, 13], window: (13, 13), stride: nil),
        Case(input: [2, 1, 5, 7], window: (3, 2), stride: 1),  // non-square, overlapping
        Case(input: [1, 3, 6, 9], window: (2, 3), stride: nil),  // non-square, default steps 2 and 3
        Case(input: [2, 1, 1, 7], window: (1, 3), stride: 2),  // H = 1
        Case(input: [2, 3, 7, 1], window: (3, 1), stride: 2),  // W = 1
    ]

    /// Max pooling for any window and steps, written from the definition:
    /// `out[n, c, oy, ox] = max x[n, c, oy·SH + ky, ox·SW + kx]`, the gradient to the first maximum in
    /// row-major order. `Reference.maxPoolForward` covers square windows with one stride; this extends it to
    /// KH×KW windows and (SH, SW) steps, and is itself checked against it below.
    static func pool(_ x: RefTensor, window: (Int, Int), steps: (Int, Int), dout: RefTensor?) -> (out: RefTensor, dx: RefTensor) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw) = window
        let (sh, sw) = steps
        let (oh, ow) = ((h - kh) / sh + 1, (w - kw) / sw + 1)
        var out = RefTensor(zeros: [n, c, oh, ow])
        var dx = RefTensor(zeros: x.shape)
        for plane in 0..<(n * c) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var best = plane * h * w + oy * sh * w + ox * sw
                    for ky in 0..<kh {
                        for kx in 0..<kw {
                            let i = plane * h * w + (oy * sh + ky) * w + ox * sw + kx
                            if x[i] > x[best] { best = i }
                        }
                    }
                    let o = (plane * oh + oy) * ow + ox
                    out[o] = x[best]
                    if let dout { dx[best] += dout[o] }
                }
            }
        }
        return (out, dx)
    }

    /// A permutation of `count` values spaced 1/4 apart, exact in float32: every window has one clear maximum,
    /// and the ±1e-6 steps of the finite differences never change which one it is.
    static func distinctValues(_ shape: [Int], seed: UInt64) -> RefTensor {
        let noise = RefTensor.random(shape: shape, seed: seed).data
        let order = noise.indices.sorted { noise[$0] < noise[$1] }
        var values = [Double](repeating: 0, count: noise.count)
        for (rank, index) in order.enumerated() { values[index] = Double(rank - noise.count / 2) / 4 }
        return RefTensor(shape: shape, data: values)
    }

    /// Checks one configuration on input `x` in float64 and float32 against `pool`, and (for distinct inputs)
    /// its float64 backward against finite differences.
    static func check(_ c: Case, x: RefTensor, finiteDifferences: Bool) throws {
        for dtype in [DType.float64, .float32] {
            let harness = try LayerHarness(layerLine: c.line, input: c.input, dtype: dtype)
            let dout = harness.rounded(RefTensor.random(shape: harness.shaped.output.dims, seed: 202, scale: 1))
            let expected = pool(x, window: c.window, steps: c.steps, dout: dout)
            let context = "\(c), \(dtype.rawValue)"
            #expect(harness.shaped.output.dims == expected.out.shape, "output shape of \(context)")
            let tolerance = Tolerance.of(dtype)
            expectClose(try harness.layer.forward(x.data), expected.out.data, tolerance, "forward output of \(context)")
            let dx = try harness.layer.backward(x.data, outputGradient: dout.data)
            expectClose(dx, expected.dx.data, tolerance, "dx of \(context)")
            if dtype == .float64 && finiteDifferences {
                try gradientCheck(harness, x: x, dout: dout, mode: .train, context: context)
            }
        }
    }

    @Test(arguments: cases.indices)
    func matchesReference(index: Int) throws {
        let c = Self.cases[index]
        try Self.check(c, x: Self.distinctValues(c.input, seed: UInt64(index) + 1), finiteDifferences: true)
    }

    /// Ties: a constant input sends every window's gradient to its first element; with overlapping windows
    /// some elements collect several.
    @Test(arguments: [Case(input: [1, 2, 5, 5], window: (3, 3), stride: 1), Case(input: [2, 1, 4, 6], window: (2, 3), stride: nil)])
    func tiesGoToTheFirstMaximum(c: Case) throws {
        let x = RefTensor(shape: c.input, data: [Double](repeating: 0.5, count: c.input.reduce(1, *)))
        try Self.check(c, x: x, finiteDifferences: false)
    }

    /// The rectangular `pool` above agrees with `Reference.maxPoolForward/Backward` where both apply.
    @Test func rectangularPoolAgreesWithReference() {
        for (shape, k, s) in [([2, 3, 7, 7], 3, 2), ([1, 2, 5, 5], 2, 1), ([2, 1, 4, 4], 2, 2), ([1, 1, 13, 13], 5, 4)] {
            let x = RefTensor.random(shape: shape, seed: 9)
            let reference = Reference.maxPoolForward(x: x, size: k, stride: s).out
            let dout = RefTensor.random(shape: reference.shape, seed: 10)
            let ours = Self.pool(x, window: (k, k), steps: (s, s), dout: dout)
            #expect(ours.out.data == reference.data)
            #expect(ours.dx.data == Reference.maxPoolBackward(dout: dout, x: x, size: k, stride: s).data)
        }
    }

    /// Shapes, FLOPs and the default stride of a 3×2 window.
    @Test func instanceFollowsTheFormulas() throws {
        let graph = try ShapeInference.load(
            "input x [2, 3, 9, 8]\nmaxpool p1 size=3x2\nmaxpool p2 size=2 stride=1\naffine out=2\nloss softmax\n", path: "p.spec")
        let p1 = try #require(graph.layer(named: "p1"))
        #expect(p1.output == [2, 3, 3, 4])
        #expect(p1.parameterCount == 0 && p1.instance.saved.isEmpty)
        #expect(p1.instance.forwardFLOPs == 2 * 3 * 3 * 4 * 6)
        #expect(graph.layer(named: "p2")?.output == [2, 3, 2, 3])
    }

    @Test(arguments: [
        ("input x [8, 4, 7, 7]\nmaxpool p1 size=2", "maxpool 'p1' on [8, 4, 7, 7]: output height (7 − 2) / 2 + 1 is not a whole number"),
        ("input x [8, 4, 8, 7]\nmaxpool p1 size=2", "maxpool 'p1' on [8, 4, 8, 7]: output width (7 − 2) / 2 + 1 is not a whole number"),
        (
            "input x [8, 4, 8, 8]\nmaxpool p1 size=3 stride=2",
            "maxpool 'p1' on [8, 4, 8, 8]: output height (8 − 3) / 2 + 1 is not a whole number"
        ),
        ("input x [8, 4, 2, 2]\nmaxpool p1 size=3", "maxpool 'p1' on [8, 4, 2, 2]: the 3x3 window is larger than the 2x2 input"),
        ("input x [8, 4, 5, 5]\nmaxpool p1 size=2x6", "maxpool 'p1' on [8, 4, 5, 5]: the 2x6 window is larger than the 5x5 input"),
        ("input x [8, 10]\nmaxpool p1 size=2", "maxpool 'p1' expects images [N, C, H, W], got [8, 10]"),
        ("input x [8, 4, 8, 8]\nmaxpool p1 size=2x", "bad value '2x' for 'size' of maxpool 'p1'"),
        ("input x [8, 4, 8, 8]\nmaxpool p1 size=2 stride=0", "bad value '0' for 'stride' of maxpool 'p1'"),
        ("input x [8, 4, 8, 8]\nmaxpool p1", "maxpool 'p1' is missing required attribute 'size'"),
    ])
    func rejects(spec: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) {
            try ShapeInference.load(spec + "\naffine out=2\nloss softmax\n", path: "bad.spec")
        }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
    }
}
