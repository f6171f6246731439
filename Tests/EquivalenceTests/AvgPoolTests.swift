// avgpool and globalavgpool: generated kernels against the reference pooling (PyTorch's window and divisor
// rules) and numerical gradients, over padding, ceil mode and both divisors.

import NNGen
import NNRuntime
import Testing

@Suite struct AvgPoolTests {
    static let cases: [(line: String, input: [Int])] = [
        ("avgpool p size=2", [2, 3, 4, 4]),
        ("avgpool p size=3 stride=1", [1, 2, 5, 5]),  // overlapping windows
        ("avgpool p size=2x3", [2, 1, 6, 9]),
        ("avgpool p size=2", [1, 2, 7, 7]),  // the floor leaves a row and a column out
        ("avgpool p size=3 stride=2 pad=1", [2, 2, 7, 7]),  // count_pad=true: corner windows divide by 9
        ("avgpool p size=3 stride=2 pad=1 count_pad=false", [2, 2, 7, 7]),  // corner windows divide by 4
        ("avgpool p size=2 ceil=true", [1, 3, 7, 7]),  // clipped last windows
        ("avgpool p size=3 stride=2 pad=1 ceil=true count_pad=false", [2, 1, 8, 6]),
        ("avgpool p size=3 stride=2 pad=1 ceil=true", [1, 2, 6, 6]),
        ("globalavgpool g", [2, 3, 4, 5]),
        ("globalavgpool g", [1, 2, 1, 1]),
    ]

    @Test(arguments: cases.indices)
    func matchesReference(index: Int) throws {
        let c = Self.cases[index]
        try checkLayer(c.line, input: c.input, modes: [.train, .test]) { inputs in
            let layer = inputs.layer
            let global = layer.kind == "globalavgpool"
            let geometry =
                global
                ? Reference.PoolGeometry(window: (c.input[2], c.input[3]), stride: (c.input[2], c.input[3]))
                : MaxPoolTests.geometry(layer)
            let result = Reference.avgPool(inputs.x, geometry, countPad: global || layer.attributes.bool("count_pad"), dout: inputs.dout)
            return LayerExpectation(out: result.out, dx: result.dx, gradients: [:])
        }
    }

    /// PyTorch's sizes: ⌊(7 + 2 − 3)/2⌋ + 1 = 4; ceil: ⌈(7 − 2)/2⌉ + 1 = 4; global: [N, C, 1, 1].
    @Test func outputSizes() throws {
        let graph = try ShapeInference.load(
            "input x [2, 3, 7, 7]\navgpool a size=3 stride=2 pad=1\navgpool b size=2 ceil=true\nglobalavgpool g\naffine out=2\nloss softmax",
            path: "a.spec")
        #expect(graph.layers.map(\.output.dims) == [[2, 3, 4, 4], [2, 3, 2, 2], [2, 3, 1, 1], [2, 2]])
        #expect(graph.warnings.isEmpty)
    }

    @Test func rejects() throws {
        let error = #expect(throws: Diagnostic.self) {
            try ShapeInference.load("input x [2, 6]\nglobalavgpool g\naffine out=2\nloss softmax", path: "g.spec")
        }
        #expect(error?.message == "globalavgpool 'g' expects images [N, C, H, W], got [2, 6]")
    }
}
