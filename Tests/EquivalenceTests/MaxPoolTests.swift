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
        /// More attributes: pad, ceil.
        var extra: String = ""

        var line: String { "maxpool p " + Self.attributes(window, stride, extra) }
        var description: String { "\(line) on \(input)" }

        /// `size=K [stride=S] extra`
        static func attributes(_ window: (Int, Int), _ stride: Int?, _ extra: String) -> String {
            let size = window.0 == window.1 ? "\(window.0)" : "\(window.0)x\(window.1)"
            return "size=\(size)" + (stride.map { " stride=\($0)" } ?? "") + (extra.isEmpty ? "" : " " + extra)
        }
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
        // PyTorch's rules: the floor that leaves rows out, padding (never the maximum), ceil mode.
        Case(input: [1, 2, 7, 7], window: (2, 2), stride: nil),  // ⌊6/2⌋ + 1 = 3: the last row and column unused
        Case(input: [2, 2, 5, 5], window: (3, 3), stride: 2, extra: "pad=1"),
        Case(input: [1, 3, 6, 7], window: (2, 3), stride: nil, extra: "pad=1"),
        Case(input: [2, 1, 7, 7], window: (2, 2), stride: nil, extra: "ceil=true"),  // ⌈6/2⌉ + 1 = 4: a clipped last window
        Case(input: [1, 2, 8, 6], window: (3, 3), stride: 2, extra: "pad=1 ceil=true"),
        Case(input: [1, 1, 5, 5], window: (3, 3), stride: 3, extra: "ceil=true"),  // the last window starts at the last row
        Case(input: [2, 2, 6, 9], window: (2, 3), stride: nil, extra: "stride=2x2 pad=1x1"),
    ]

    /// The reference geometry of a shaped maxpool or avgpool layer.
    static func geometry(_ layer: ShapedLayer) -> Reference.PoolGeometry {
        let a = layer.attributes
        let window = a.size("size")
        return Reference.PoolGeometry(
            window: window, stride: a.isGiven("stride") ? a.size("stride") : window, pad: a.size("pad"), ceil: a.bool("ceil"))
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
            let expected = Reference.maxPool(x, geometry(harness.shaped), dout: dout)
            let context = "\(c), \(dtype.rawValue)"
            #expect(harness.shaped.output.dims == expected.out.shape, "output shape of \(context)")
            let tolerance = Tolerance.of(dtype)
            expectClose(try harness.layer.forward(x.data, mode: .train), expected.out.data, tolerance, "forward output of \(context)")
            let dx = try harness.layer.backward(x.data, outputGradient: dout.data, mode: .train)
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

    /// The general `Reference.maxPool` agrees with the square, unpadded `Reference.maxPoolForward/Backward`.
    @Test func generalPoolAgreesWithSquareReference() {
        for (shape, k, s) in [([2, 3, 7, 7], 3, 2), ([1, 2, 5, 5], 2, 1), ([2, 1, 4, 4], 2, 2), ([1, 1, 13, 13], 5, 4)] {
            let x = RefTensor.random(shape: shape, seed: 9)
            let reference = Reference.maxPoolForward(x: x, size: k, stride: s).out
            let dout = RefTensor.random(shape: reference.shape, seed: 10)
            let ours = Reference.maxPool(x, Reference.PoolGeometry(window: (k, k), stride: (s, s)), dout: dout)
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

    /// PyTorch-valid poolings the first release refused: output sizes as PyTorch, with warnings.
    @Test func pytorchSizes() throws {
        let graph = try ShapeInference.load(
            "input x [8, 4, 11, 11]\nmaxpool p1 size=2\nmaxpool p2 size=2 ceil=true\nmaxpool p3 size=3 stride=2 pad=1\naffine out=2\nloss softmax\n",
            path: "p.spec")
        #expect(graph.layers.map(\.output.dims) == [[8, 4, 5, 5], [8, 4, 3, 3], [8, 4, 2, 2], [8, 2]])
        #expect(
            graph.warnings.map(\.description) == [
                "p.spec:2:1: warning: maxpool 'p1' on [8, 4, 11, 11]: output height ⌊(11 + 2·0 − 2) / 2⌋ + 1 = 5 leaves the last 1 input row "
                    + "out of every window; hint: pad=1 or ceil=true would use them (as in PyTorch, they are ignored otherwise)",
                "p.spec:2:1: warning: maxpool 'p1' on [8, 4, 11, 11]: output width ⌊(11 + 2·0 − 2) / 2⌋ + 1 = 5 leaves the last 1 input column "
                    + "out of every window; hint: pad=1 or ceil=true would use them (as in PyTorch, they are ignored otherwise)",
            ])
    }

    @Test(arguments: [
        ("input x [8, 4, 2, 2]\nmaxpool p1 size=3", "maxpool 'p1' on [8, 4, 2, 2]: the 3x3 window does not fit the input height"),
        ("input x [8, 4, 5, 5]\nmaxpool p1 size=2x6", "maxpool 'p1' on [8, 4, 5, 5]: the 2x6 window does not fit the input width"),
        ("input x [8, 4, 8, 8]\nmaxpool p1 size=3 pad=2", "maxpool 'p1' pad=2 is more than half the 3x3 window"),
        ("input x [8, 10]\nmaxpool p1 size=2", "maxpool 'p1' expects images [N, C, H, W], got [8, 10]"),
        ("input x [8, 4, 8, 8]\nmaxpool p1 size=2x", "bad value '2x' for 'size' of maxpool 'p1'"),
        ("input x [8, 4, 8, 8]\nmaxpool p1 size=2 stride=0", "bad value '0' for 'stride' of maxpool 'p1'"),
        ("input x [8, 4, 8, 8]\nmaxpool p1", "maxpool 'p1' is missing required attribute 'size'"),
        ("input x [8, 4, 8, 8]\nmaxpool p1 size=2 ceil=1", "bad value '1' for 'ceil' of maxpool 'p1': expected true or false"),
    ])
    func rejects(spec: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) {
            try ShapeInference.load(spec + "\naffine out=2\nloss softmax\n", path: "bad.spec")
        }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
    }
}
