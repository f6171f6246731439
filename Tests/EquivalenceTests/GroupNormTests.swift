// groupnorm: generated kernels against the reference and numerical gradients, over groups from 1 to C.

import NNGen
import NNRuntime
import Testing

@Suite struct GroupNormTests {
    struct Case: CustomStringConvertible, Sendable {
        var shape: [Int]
        var groups: Int
        var description: String { "\(shape) groups=\(groups)" }
        /// Values per (sample, group).
        var setSize: Int { shape[1] / groups * shape[2] * shape[3] }
    }

    /// G = 1 (layernorm with per-channel γ), G = C (instance norm) and in between; N = 1, 2, 3, 7; sets of
    /// 1, 2 and more values.
    static let cases: [Case] = [
        Case(shape: [2, 4, 3, 3], groups: 1), Case(shape: [2, 4, 3, 3], groups: 2), Case(shape: [2, 4, 3, 3], groups: 4),
        Case(shape: [1, 6, 2, 2], groups: 3), Case(shape: [3, 6, 1, 1], groups: 2), Case(shape: [3, 6, 1, 3], groups: 6),
        Case(shape: [7, 3, 2, 1], groups: 3), Case(shape: [7, 3, 1, 2], groups: 1), Case(shape: [1, 1, 1, 1], groups: 1),
        Case(shape: [2, 2, 1, 1], groups: 2), Case(shape: [3, 8, 1, 3], groups: 4), Case(shape: [1, 13, 1, 1], groups: 13),
        Case(shape: [2, 13, 3, 1], groups: 1),
    ]

    /// Two values per set: x̂ = ±1 up to ε and dx ≈ 0 is rounding noise in float32 (see BatchNormTests).
    static func dtypes(_ c: Case) -> [DType] {
        c.setSize == 2 ? [.float64] : [.float64, .float32]
    }

    static func reference(_ inputs: LayerInputs, groups: Int, eps: Double) -> LayerExpectation {
        let f = Reference.groupNormForward(
            x: inputs.x, gamma: inputs.parameters["gamma"]!, beta: inputs.parameters["beta"]!,
            groups: groups, eps: eps)
        let b = Reference.groupNormBackward(dout: inputs.dout, cache: f.cache)
        return LayerExpectation(out: f.out, dx: b.dx, gradients: ["gamma": b.dgamma, "beta": b.dbeta])
    }

    /// Both modes: groupnorm has no running statistics, so test mode computes exactly what train mode does.
    @Test(arguments: cases)
    func matchesReference(c: Case) throws {
        try checkLayer("groupnorm gn groups=\(c.groups)", input: c.shape, modes: [.train, .test], dtypes: Self.dtypes(c)) {
            Self.reference($0, groups: c.groups, eps: 1e-5)
        }
    }

    @Test func matchesReferenceWithEps() throws {
        try checkLayer("groupnorm gn groups=2 eps=0.01", input: [2, 4, 2, 3]) { Self.reference($0, groups: 2, eps: 0.01) }
    }

    @Test func shapesAndParameters() throws {
        let harness = try LayerHarness(layerLine: "groupnorm gn groups=3", input: [2, 6, 4, 5], dtype: .float64)
        #expect(harness.shaped.output == [2, 6, 4, 5])
        #expect(try harness.model.shape(of: "gn.gamma") == [6])
        #expect(try harness.model.shape(of: "gn.beta") == [6])
        #expect(harness.shaped.instance.saved.map(\.count) == [6, 6])
    }

    /// Hand-computed on one sample of 2 channels × 2 positions, groups=2: channel 0 = [1, 3] → [−1, 1],
    /// channel 1 = [5, 5] → [0, 0] (no variance), with eps → 0.
    @Test func handComputedValues() throws {
        let harness = try LayerHarness(layerLine: "groupnorm gn groups=2 eps=1e-300", input: [1, 2, 1, 2], dtype: .float64)
        let out = try harness.layer.forward([1, 3, 5, 5], mode: .train)
        expectClose(out, [-1, 1, 0, 0], 1e-15, "normalized output")
        expectClose(try harness.model.saved(layer: "gn", name: "mean"), [2, 5], 1e-15, "saved means")
    }

    @Test func rejectsGroupsThatDoNotDivideChannels() throws {
        let spec = "input x [2, 6, 3, 3]\ngroupnorm gn groups=4\naffine out=2\nloss softmax\n"
        let error = #expect(throws: Diagnostic.self) { try ShapeInference.load(spec, path: "gn.spec") }
        #expect(error?.location?.line == 2 && error?.location?.column == 14, "located at the groups attribute")
        #expect(error?.message == "groupnorm 'gn' groups=4 does not divide the C = 6 channels of its input [2, 6, 3, 3]")
        #expect(error?.hint == "choose groups among the divisors of 6: 1, 2, 3, 6")
    }
}
