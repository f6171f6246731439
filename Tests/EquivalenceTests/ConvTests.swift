// conv: generated kernels against the reference convolution and numerical gradients, over many shapes,
// strides, paddings and (non-square) kernels.

import NNGen
import Testing

@Suite struct ConvTests {
    /// One configuration: input [N, C, H, W], F filters of KH×KW, stride, pad.
    struct Case: CustomStringConvertible, Sendable {
        var input: [Int]
        var filters: Int
        var kernel: (Int, Int)
        var stride: Int
        var pad: Int

        var line: String {
            let size = kernel.0 == kernel.1 ? "\(kernel.0)" : "\(kernel.0)x\(kernel.1)"
            return "conv c filters=\(filters) size=\(size) stride=\(stride) pad=\(pad)"
        }
        var description: String { "\(line) on \(input)" }
    }

    static let cases: [Case] = [
        Case(input: [1, 1, 1, 1], filters: 1, kernel: (1, 1), stride: 1, pad: 0),  // smallest: a scalar product
        Case(input: [2, 1, 3, 3], filters: 2, kernel: (3, 3), stride: 1, pad: 0),  // kernel = image: 1×1 out
        Case(input: [1, 3, 3, 3], filters: 2, kernel: (3, 3), stride: 1, pad: 1),  // "same" padding
        Case(input: [2, 3, 5, 5], filters: 4, kernel: (3, 3), stride: 2, pad: 1),
        Case(input: [2, 1, 5, 5], filters: 3, kernel: (5, 5), stride: 1, pad: 2),
        Case(input: [1, 3, 7, 7], filters: 2, kernel: (3, 3), stride: 2, pad: 0),
        Case(input: [2, 3, 7, 7], filters: 5, kernel: (5, 5), stride: 1, pad: 0),
        Case(input: [1, 1, 13, 13], filters: 2, kernel: (3, 3), stride: 3, pad: 1),
        Case(input: [1, 1, 7, 7], filters: 6, kernel: (3, 3), stride: 3, pad: 1),
        Case(input: [2, 3, 5, 7], filters: 2, kernel: (3, 2), stride: 1, pad: 1),  // non-square, H ≠ W
        Case(input: [1, 3, 7, 5], filters: 3, kernel: (2, 3), stride: 1, pad: 0),
        Case(input: [2, 1, 3, 3], filters: 2, kernel: (2, 3), stride: 1, pad: 1),
        Case(input: [2, 1, 13, 7], filters: 2, kernel: (3, 3), stride: 2, pad: 0),
        Case(input: [2, 3, 3, 3], filters: 2, kernel: (1, 1), stride: 1, pad: 0),  // 1×1: a per-pixel affine
        Case(input: [1, 3, 7, 7], filters: 4, kernel: (1, 1), stride: 3, pad: 0),
        Case(input: [2, 3, 13, 13], filters: 4, kernel: (5, 5), stride: 2, pad: 2),
        Case(input: [1, 2, 1, 5], filters: 2, kernel: (1, 3), stride: 1, pad: 0),  // H = 1
        Case(input: [2, 3, 5, 1], filters: 2, kernel: (3, 1), stride: 1, pad: 0),  // W = 1
        Case(input: [1, 2, 5, 5], filters: 9, kernel: (3, 3), stride: 1, pad: 1),  // F not a multiple of 4
        Case(input: [2, 3, 5, 5], filters: 3, kernel: (3, 3), stride: 3, pad: 2),  // stride = kernel, windows apart
        Case(input: [2, 2, 8, 8], filters: 3, kernel: (3, 3), stride: 2, pad: 1),  // ⌊7/2⌋: only padding unused (W2's conv2)
        Case(input: [1, 1, 6, 9], filters: 2, kernel: (3, 3), stride: 3, pad: 2),  // 7 mod 3 = 1 ≤ pad rows dropped
    ]

    @Test(arguments: cases.indices)
    func matchesReference(index: Int) throws {
        let c = Self.cases[index]
        try checkLayer(c.line, input: c.input, modes: [.train, .test]) { inputs in
            let w = inputs.parameters["weight"]!
            let b = inputs.parameters["bias"]!
            let out = Reference.convForward(x: inputs.x, w: w, b: b, stride: c.stride, pad: c.pad)
            let g = Reference.convBackward(dout: inputs.dout, x: inputs.x, w: w, stride: c.stride, pad: c.pad)
            return LayerExpectation(out: out, dx: g.dx, gradients: ["weight": g.dw, "bias": g.db])
        }
    }

    /// Shapes, parameters, fan-in/fan-out, scratch size and FLOPs of a 5×3 kernel with stride 2 and pad 1:
    /// OH = (13 + 2 − 5)/2 + 1 = 6, OW = (9 + 2 − 3)/2 + 1 = 5.
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
    }

    /// He is the default initializer, with fan-in C·KH·KW.
    @Test func heByDefault() throws {
        let graph = try ShapeInference.load("input x [1, 2, 5, 5]\nconv c1 filters=3 size=3\naffine out=2\nloss softmax\n", path: "c.spec")
        let weight = try #require(graph.layer(named: "c1")?.instance.parameters[0])
        #expect(weight.initializer == .he && weight.fanIn == 18)
        #expect(graph.layer(named: "c1")?.output == [1, 3, 3, 3])
    }

    /// Every spec that must be rejected, with the start of its message.
    @Test(arguments: [
        (
            "input x [8, 1, 28, 28]\nconv c1 filters=4 size=5 stride=2",
            "conv 'c1' on [8, 1, 28, 28]: output height (28 + 2·0 − 5) / 2 + 1 is not a whole number"
        ),
        (
            "input x [8, 1, 30, 27]\nconv c1 filters=4 size=3 stride=3 pad=1",
            "conv 'c1' on [8, 1, 30, 27]: output height (30 + 2·1 − 3) / 3 + 1 is not a whole number: the last 1 input row would be ignored"
        ),
        (
            "input x [8, 1, 27, 28]\nconv c1 filters=4 size=4 stride=4 pad=1",
            "conv 'c1' on [8, 1, 27, 28]: output width (28 + 2·1 − 4) / 4 + 1 is not a whole number: the last 1 input column would be ignored"
        ),
        ("input x [8, 784]\nconv c1 filters=4 size=3", "conv 'c1' expects images [N, C, H, W], got [8, 784]"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=4 size=3 pad=3", "conv 'c1' pad=3 is not smaller than the 3x3 kernel"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=4 size=3x1 pad=1", "conv 'c1' pad=1 is not smaller than the 3x1 kernel"),
        ("input x [8, 1, 3, 3]\nconv c1 filters=4 size=5", "conv 'c1' on [8, 1, 3, 3]: the 5x5 kernel does not fit the input height"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=4 size=3x", "bad value '3x' for 'size' of conv 'c1'"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=0 size=3", "bad value '0' for 'filters' of conv 'c1'"),
        ("input x [8, 1, 28, 28]\nconv c1 size=3", "conv 'c1' is missing required attribute 'filters'"),
        ("input x [8, 1, 28, 28]\nconv c1 filters=2 size=3 stride=0", "bad value '0' for 'stride' of conv 'c1'"),
    ])
    func rejects(spec: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) {
            try ShapeInference.load(spec + "\naffine out=2\nloss softmax\n", path: "bad.spec")
        }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
        #expect(error?.hint != nil || message.hasPrefix("bad value"), "a shape error says what to do")
    }

    /// The hint proposes the smallest pad that makes both sides whole: (27 + 2·1 − 5) / 3 + 1 = 9.
    @Test func hintSuggestsAPad() throws {
        let error = #expect(throws: Diagnostic.self) {
            try ShapeInference.load(
                "input x [8, 1, 27, 27]\nconv c1 filters=4 size=5 stride=3\naffine out=2\nloss softmax\n", path: "bad.spec")
        }
        #expect(error?.hint == "choose pad or stride so that stride divides H + 2·pad − KH (here 22) up to the padding, e.g. pad=1")
    }

    /// An odd kernel on an even side at stride 2: pad=1 leaves only a padding row unused.
    @Test func hintSuggestsPadOne() throws {
        let error = #expect(throws: Diagnostic.self) {
            try ShapeInference.load(
                "input x [8, 1, 28, 28]\nconv c1 filters=4 size=5 stride=2\naffine out=2\nloss softmax\n", path: "bad.spec")
        }
        #expect(error?.hint == "choose pad or stride so that stride divides H + 2·pad − KH (here 23) up to the padding, e.g. pad=1")
    }
}
