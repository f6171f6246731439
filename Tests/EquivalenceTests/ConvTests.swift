// conv: generated kernels against the reference convolution and numerical gradients, over many shapes,
// strides, paddings and (non-square) kernels.

import NNGen
import Testing

@Suite struct ConvTests {
    /// One configuration: input [N, C, H, W], F filters of KH×KW, stride, pad, and the extra attributes
    /// (dilation, groups, bias) as written in the spec.
    struct Case: CustomStringConvertible, Sendable {
        var input: [Int]
        var filters: Int
        var kernel: (Int, Int)
        var stride: String
        var pad: String
        var extra: String = ""

        var line: String {
            let size = kernel.0 == kernel.1 ? "\(kernel.0)" : "\(kernel.0)x\(kernel.1)"
            return "conv c filters=\(filters) size=\(size) stride=\(stride) pad=\(pad)" + (extra.isEmpty ? "" : " " + extra)
        }
        var description: String { "\(line) on \(input)" }
    }

    static let cases: [Case] = [
        Case(input: [1, 1, 1, 1], filters: 1, kernel: (1, 1), stride: "1", pad: "0"),  // smallest: a scalar product
        Case(input: [2, 1, 3, 3], filters: 2, kernel: (3, 3), stride: "1", pad: "0"),  // kernel = image: 1×1 out
        Case(input: [1, 3, 3, 3], filters: 2, kernel: (3, 3), stride: "1", pad: "1"),  // "same" padding
        Case(input: [2, 3, 5, 5], filters: 4, kernel: (3, 3), stride: "2", pad: "1"),
        Case(input: [2, 1, 5, 5], filters: 3, kernel: (5, 5), stride: "1", pad: "2"),
        Case(input: [1, 3, 7, 7], filters: 2, kernel: (3, 3), stride: "2", pad: "0"),
        Case(input: [2, 3, 7, 7], filters: 5, kernel: (5, 5), stride: "1", pad: "0"),
        Case(input: [1, 1, 13, 13], filters: 2, kernel: (3, 3), stride: "3", pad: "1"),
        Case(input: [1, 1, 7, 7], filters: 6, kernel: (3, 3), stride: "3", pad: "1"),
        Case(input: [2, 3, 5, 7], filters: 2, kernel: (3, 2), stride: "1", pad: "1"),  // non-square, H ≠ W
        Case(input: [1, 3, 7, 5], filters: 3, kernel: (2, 3), stride: "1", pad: "0"),
        Case(input: [2, 1, 3, 3], filters: 2, kernel: (2, 3), stride: "1", pad: "1"),
        Case(input: [2, 1, 13, 7], filters: 2, kernel: (3, 3), stride: "2", pad: "0"),
        Case(input: [2, 3, 3, 3], filters: 2, kernel: (1, 1), stride: "1", pad: "0"),  // 1×1: a per-pixel affine
        Case(input: [1, 3, 7, 7], filters: 4, kernel: (1, 1), stride: "3", pad: "0"),
        Case(input: [2, 3, 13, 13], filters: 4, kernel: (5, 5), stride: "2", pad: "2"),
        Case(input: [1, 2, 1, 5], filters: 2, kernel: (1, 3), stride: "1", pad: "0"),  // H = 1
        Case(input: [2, 3, 5, 1], filters: 2, kernel: (3, 1), stride: "1", pad: "0"),  // W = 1
        Case(input: [1, 2, 5, 5], filters: 9, kernel: (3, 3), stride: "1", pad: "1"),  // F not a multiple of 4
        Case(input: [2, 3, 5, 5], filters: 3, kernel: (3, 3), stride: "3", pad: "2"),  // stride = kernel, windows apart
        Case(input: [2, 2, 8, 8], filters: 3, kernel: (3, 3), stride: "2", pad: "1"),  // ⌊7/2⌋: only padding unused (W2's conv2)
        Case(input: [1, 1, 6, 9], filters: 2, kernel: (3, 3), stride: "3", pad: "2"),  // 7 mod 3 = 1 ≤ pad rows dropped
        // PyTorch's floor that drops real input (a warning, not an error), and pads of any size.
        Case(input: [2, 1, 8, 8], filters: 2, kernel: (3, 3), stride: "2", pad: "0"),  // ⌊5/2⌋: the last input row unused
        Case(input: [1, 2, 4, 5], filters: 2, kernel: (2, 2), stride: "1", pad: "2"),  // pad = kernel: outer outputs see padding only
        Case(input: [1, 1, 5, 5], filters: 1, kernel: (1, 1), stride: "1", pad: "3"),
        // Dilation, groups (depthwise included), no bias, and non-square stride, pad and dilation.
        Case(input: [2, 2, 7, 7], filters: 3, kernel: (3, 3), stride: "1", pad: "2", extra: "dilation=2"),
        Case(input: [1, 3, 9, 8], filters: 2, kernel: (2, 3), stride: "2", pad: "1", extra: "dilation=3x2"),
        Case(input: [2, 4, 5, 5], filters: 6, kernel: (3, 3), stride: "1", pad: "1", extra: "groups=2"),
        Case(input: [2, 6, 5, 5], filters: 6, kernel: (3, 3), stride: "2", pad: "1", extra: "groups=6"),  // depthwise
        Case(input: [1, 4, 6, 6], filters: 8, kernel: (3, 3), stride: "1", pad: "1", extra: "groups=4 bias=false"),
        Case(input: [2, 3, 5, 5], filters: 4, kernel: (3, 3), stride: "1", pad: "1", extra: "bias=false"),
        Case(input: [2, 2, 7, 6], filters: 3, kernel: (3, 3), stride: "2x1", pad: "1x0"),
        Case(input: [1, 4, 9, 9], filters: 4, kernel: (3, 3), stride: "2", pad: "2", extra: "groups=2 dilation=2 bias=false"),
        // Fewer im2col rows than filters (C·KH·KW + 1 = 5 < 12): the dW product reads dout through its pack.
        Case(input: [2, 4, 5, 5], filters: 12, kernel: (1, 1), stride: "1", pad: "0", extra: "groups=2"),
    ]

    /// The reference geometry of a shaped conv layer.
    static func geometry(_ layer: ShapedLayer) -> Reference.ConvGeometry {
        let a = layer.attributes
        return Reference.ConvGeometry(stride: a.size("stride"), pad: a.size("pad"), dilation: a.size("dilation"), groups: a.int("groups"))
    }

    @Test(arguments: cases.indices)
    func matchesReference(index: Int) throws {
        let c = Self.cases[index]
        try checkLayer(c.line, input: c.input, modes: [.train, .test]) { inputs in
            let w = inputs.parameters["weight"]!
            let b = inputs.parameters["bias"]
            let geometry = Self.geometry(inputs.layer)
            let out = Reference.convForward(x: inputs.x, w: w, b: b, geometry: geometry)
            let g = Reference.convBackward(dout: inputs.dout, x: inputs.x, w: w, geometry: geometry)
            var gradients = ["weight": g.dw]
            if b != nil { gradients["bias"] = g.db }
            return LayerExpectation(out: out, dx: g.dx, gradients: gradients)
        }
    }

    /// Shapes, parameters, fan-in/fan-out, scratch size and FLOPs of a 5×3 kernel with stride 2 and pad 1:
    /// OH = ⌊(13 + 2 − 5)/2⌋ + 1 = 6, OW = ⌊(9 + 2 − 3)/2⌋ + 1 = 5.
    @Test func instanceFollowsTheFormulas() throws {
        let graph = try ShapeInference.load(
            """
            input x [2, 3, 13, 9]
            conv c1 filters=4 size=5x3 stride=2 pad=1 init=xavier
            affine fc out=2
            loss softmax
            """, path: "conv.spec")
        let layer = try #require(graph.layer(named: "c1"))
        #expect(layer.output == [2, 4, 6, 5])
        let weight = layer.instance.parameters[0]
        #expect(weight.suffix == "weight" && weight.shape == [4, 3, 5, 3] && weight.initializer == .xavier)
        #expect(weight.fanIn == 3 * 5 * 3 && weight.fanOut == 4 * 5 * 3)
        #expect(layer.instance.parameters[1].shape == [4] && layer.instance.parameters[1].initializer == .zeros)
        #expect(layer.parameterCount == 4 * 3 * 5 * 3 + 4)
        // col (with its row of ones), dcol (min(N, 8) slots), doutᵀ, (dW | db)ᵀ
        #expect(
            layer.instance.saved.map(\.count) == [2 * (3 * 5 * 3 + 1) * 6 * 5, 2 * 3 * 5 * 3 * 6 * 5, 2 * 4 * 6 * 5, (3 * 5 * 3 + 1) * 4])
        #expect(layer.instance.forwardFLOPs == 2 * 2 * 4 * 6 * 5 * (3 * 5 * 3) + 2 * 4 * 6 * 5)
        #expect(graph.warnings.isEmpty)
    }

    /// Groups, dilation and no bias: weight [F, C/G, KH, KW], fan-in C/G·KH·KW, no bias tensor, and the output
    /// size with the dilated kernel: ⌊(10 + 2·1 − 2·(3 − 1) − 1)/1⌋ + 1 = 8.
    @Test func groupsDilationAndNoBias() throws {
        let graph = try ShapeInference.load(
            "input x [2, 6, 10, 10]\nconv c1 filters=4 size=3 pad=1 dilation=2 groups=2 bias=false\naffine fc out=2\nloss softmax",
            path: "conv.spec")
        let layer = try #require(graph.layer(named: "c1"))
        #expect(layer.output == [2, 4, 8, 8])
        #expect(layer.instance.parameters.map(\.suffix) == ["weight"])
        #expect(layer.instance.parameters[0].shape == [4, 3, 3, 3] && layer.instance.parameters[0].fanIn == 27)
        #expect(layer.instance.forwardFLOPs == 2 * 4 * 8 * 8 * 2 * 27)
    }

    /// He is the default initializer, with fan-in C·KH·KW.
    @Test func heByDefault() throws {
        let graph = try ShapeInference.load("input x [1, 2, 5, 5]\nconv c1 filters=3 size=3\naffine out=2\nloss softmax\n", path: "c.spec")
        let weight = try #require(graph.layer(named: "c1")?.instance.parameters[0])
        #expect(weight.initializer == .he && weight.fanIn == 18)
        #expect(graph.layer(named: "c1")?.output == [1, 3, 3, 3])
    }

    /// PyTorch-valid convolutions the first release refused now compile, with the output size PyTorch gives;
    /// where the floor leaves real input out of every window, a located warning says how many and which pad
    /// would use them.
    @Test(arguments: [
        (
            "input x [8, 1, 28, 28]\nconv c1 filters=4 size=3 stride=2", [8, 4, 13, 13],
            [
                "warn.spec:2:1: warning: conv 'c1' on [8, 1, 28, 28]: output height ⌊(28 + 2·0 − 3) / 2⌋ + 1 = 13 leaves the last 1 input row "
                    + "out of every window; hint: pad=1 would use them (as in PyTorch, they are ignored otherwise)",
                "warn.spec:2:1: warning: conv 'c1' on [8, 1, 28, 28]: output width ⌊(28 + 2·0 − 3) / 2⌋ + 1 = 13 leaves the last 1 input column "
                    + "out of every window; hint: pad=1 would use them (as in PyTorch, they are ignored otherwise)",
            ]
        ),
        ("input x [8, 1, 28, 28]\nconv c1 filters=4 size=2 pad=2", [8, 4, 31, 31], []),
        (
            "input x [8, 1, 30, 27]\nconv c1 filters=4 size=3 stride=3 pad=1", [8, 4, 10, 9],
            [
                "warn.spec:2:1: warning: conv 'c1' on [8, 1, 30, 27]: output height ⌊(30 + 2·1 − 3) / 3⌋ + 1 = 10 leaves the last 1 input row "
                    + "out of every window; hint: pad=2 would use them (as in PyTorch, they are ignored otherwise)",
                "warn.spec:2:1: warning: conv 'c1' on [8, 1, 30, 27]: output width ⌊(27 + 2·1 − 3) / 3⌋ + 1 = 9 leaves the last 1 input column "
                    + "out of every window; hint: pad=2 would use them (as in PyTorch, they are ignored otherwise)",
            ]
        ),
        ("input x [8, 1, 28, 28]\nconv c1 filters=4 size=3 stride=2 pad=1", [8, 4, 14, 14], []),
    ])
    func pytorchSizesWithWarnings(spec: String, output: [Int], warnings: [String]) throws {
        let graph = try ShapeInference.load(spec + "\naffine out=2\nloss softmax\n", path: "warn.spec")
        #expect(graph.layers[0].output.dims == output)
        #expect(graph.warnings.map(\.description) == warnings)
        #expect(graph.warnings.allSatisfy { $0.severity == .warning && $0.sourceLine != nil })
    }

    /// Every spec that must be rejected, with the start of its message.
    @Test(arguments: [
        ("input x [8, 784]\nconv c1 filters=4 size=3", "conv 'c1' expects images [N, C, H, W], got [8, 784]"),
        (
            "input x [8, 1, 3, 3]\nconv c1 filters=4 size=5",
            "conv 'c1' on [8, 1, 3, 3]: the 5x5 window does not fit the input height: 3 + 2·0 is less than its extent 5"
        ),
        (
            "input x [8, 1, 5, 5]\nconv c1 filters=4 size=3 dilation=3",
            "conv 'c1' on [8, 1, 5, 5]: the 3x3 window does not fit the input height: 5 + 2·0 is less than its extent 3·(3 − 1) + 1 = 7"
        ),
        ("input x [8, 4, 5, 5]\nconv c1 filters=6 size=3 groups=4", "conv 'c1' on [8, 4, 5, 5]: groups=4 must divide both"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=4 size=3x", "bad value '3x' for 'size' of conv 'c1'"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=0 size=3", "bad value '0' for 'filters' of conv 'c1'"),
        ("input x [8, 1, 28, 28]\nconv c1 size=3", "conv 'c1' is missing required attribute 'filters'"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=2 size=3 stride=0", "bad value '0' for 'stride' of conv 'c1'"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=2 size=3 pad=-1", "bad value '-1' for 'pad' of conv 'c1'"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=2 size=3 bias=no", "bad value 'no' for 'bias' of conv 'c1': expected true or false"),
    ])
    func rejects(spec: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) {
            try ShapeInference.load(spec + "\naffine out=2\nloss softmax\n", path: "bad.spec")
        }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
        #expect(error?.hint != nil || message.hasPrefix("bad value"), "a shape error says what to do")
    }
}
