// layernorm: generated kernels against the reference and numerical gradients, on [N, D] and images.

import NNGen
import NNRuntime
import Testing

@Suite struct LayerNormTests {
    /// Every N in 1, 2, 3, 7 with every D in 1, 3, 7, 13; D = 2; images (normalized over C·H·W).
    static let shapes: [[Int]] =
        [1, 2, 3, 7].flatMap { n in [1, 3, 7, 13].map { d in [n, d] } }
        + [[3, 2], [2, 3, 2, 2], [1, 2, 3, 3], [3, 1, 1, 5], [2, 1, 1, 1]]

    /// With two values per sample, x̂ = ±1 up to ε and the true dx is nearly zero: what float32 returns there is
    /// rounding noise of the saved float32 mean and 1/σ, so those shapes are compared in float64 only.
    static func dtypes(_ shape: [Int]) -> [DType] {
        shape.dropFirst().reduce(1, *) == 2 ? [.float64] : [.float64, .float32]
    }

    static func reference(_ inputs: LayerInputs, eps: Double) -> LayerExpectation {
        let f = Reference.layerNormForward(x: inputs.x, gamma: inputs.parameters["gamma"]!, beta: inputs.parameters["beta"]!, eps: eps)
        let b = Reference.layerNormBackward(dout: inputs.dout, cache: f.cache)
        return LayerExpectation(out: f.out, dx: b.dx, gradients: ["gamma": b.dgamma, "beta": b.dbeta])
    }

    /// Both modes: layernorm has no running statistics, so test mode computes exactly what train mode does.
    @Test(arguments: shapes)
    func matchesReferenceWithDefaults(shape: [Int]) throws {
        try checkLayer("layernorm ln", input: shape, modes: [.train, .test], dtypes: Self.dtypes(shape)) {
            Self.reference($0, eps: 1e-5)
        }
    }

    @Test(arguments: [[4, 3], [2, 2, 3, 1]])
    func matchesReferenceWithEps(shape: [Int]) throws {
        try checkLayer("layernorm ln eps=0.01", input: shape) { Self.reference($0, eps: 0.01) }
    }

    /// γ and β cover the D features; an image keeps its shape and has γ, β of C·H·W elements.
    @Test func shapesAndParameters() throws {
        let flat = try LayerHarness(layerLine: "layernorm ln", input: [5, 7], dtype: .float64)
        #expect(flat.shaped.output == [5, 7])
        #expect(try flat.model.shape(of: "ln.gamma") == [7])
        let image = try LayerHarness(layerLine: "layernorm ln", input: [2, 3, 4, 5], dtype: .float64)
        #expect(image.shaped.output == [2, 3, 4, 5])
        #expect(try image.model.shape(of: "ln.beta") == [60])
        #expect(try image.model.tensor("ln.gamma") == [Double](repeating: 1, count: 60))
        #expect(try image.model.tensor("ln.beta") == [Double](repeating: 0, count: 60))
    }

    /// Hand-computed: each row is normalized on its own; [1, 2, 3] has mean 2 and biased variance 2/3, so with
    /// eps → 0 x̂ = [−1, 0, 1]·sqrt(3/2); [10, 10, 40] has mean 20, variance 200, x̂ = [−1, −1, 2]/sqrt(2).
    @Test func handComputedValues() throws {
        let harness = try LayerHarness(layerLine: "layernorm ln eps=1e-300", input: [2, 3], dtype: .float64)
        let out = try harness.layer.forward([1, 2, 3, 10, 10, 40], mode: .train)
        let s = (1.5).squareRoot()
        let r = (0.5).squareRoot()
        expectClose(out, [-s, 0, s, -r, -r, 2 * r], 1e-15, "normalized output")
        expectClose(try harness.model.saved(layer: "ln", name: "mean"), [2, 20], 1e-15, "saved means")
    }
}
