// batchnorm: both modes, [N, D] and spatial [N, C, H, W], running statistics included.

import NNGen
import NNRuntime
import Testing

@Suite struct BatchNormTests {
    static let shapes: [[Int]] = [
        [2, 1], [2, 3], [3, 7], [13, 2], [2, 4], [2, 3, 2, 2], [1, 2, 3, 3], [3, 1, 1, 5], [2, 13, 1, 1],
    ]

    /// With two values per channel, x̂ = ±1 up to ε and the true dx is nearly zero: what float32 returns there is
    /// rounding noise of the saved float32 mean and 1/σ, so those shapes are compared in float64 only.
    static func dtypes(_ shape: [Int]) -> [DType] {
        shape[0] * shape.dropFirst(2).reduce(1, *) <= 2 ? [.float64] : [.float64, .float32]
    }

    static func reference(_ inputs: LayerInputs, eps: Double, momentum: Double) -> LayerExpectation {
        let gamma = inputs.parameters["gamma"]!
        let beta = inputs.parameters["beta"]!
        let mean = inputs.buffers["running_mean"]!
        let variance = inputs.buffers["running_var"]!
        switch inputs.mode {
        case .train:
            let f = Reference.batchNormForwardTrain(
                x: inputs.x, gamma: gamma, beta: beta, runningMean: mean,
                runningVar: variance, momentum: momentum, eps: eps)
            let b = Reference.batchNormBackwardTrain(dout: inputs.dout, cache: f.cache)
            return LayerExpectation(
                out: f.out, dx: b.dx, gradients: ["gamma": b.dgamma, "beta": b.dbeta],
                buffers: ["running_mean": f.runningMean, "running_var": f.runningVar])
        case .test:
            let out = Reference.batchNormForwardTest(
                x: inputs.x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, eps: eps)
            let b = Reference.batchNormBackwardTest(
                dout: inputs.dout, x: inputs.x, gamma: gamma, runningMean: mean, runningVar: variance, eps: eps)
            return LayerExpectation(
                out: out, dx: b.dx, gradients: ["gamma": b.dgamma, "beta": b.dbeta],
                buffers: ["running_mean": mean, "running_var": variance])
        }
    }

    @Test(arguments: shapes)
    func matchesReferenceWithDefaults(shape: [Int]) throws {
        try checkLayer("batchnorm bn", input: shape, modes: [.train, .test], dtypes: Self.dtypes(shape)) {
            Self.reference($0, eps: 1e-5, momentum: 0.9)
        }
    }

    @Test(arguments: [[4, 3], [2, 2, 3, 1]])
    func matchesReferenceWithAttributes(shape: [Int]) throws {
        try checkLayer("batchnorm bn eps=0.01 momentum=0.5", input: shape, modes: [.train, .test]) {
            Self.reference($0, eps: 0.01, momentum: 0.5)
        }
    }

    /// `sync=true` in one process (no allreduce set: the sums are its own) is batchnorm of its batch,
    /// through its own plain loops: the same reference, in both modes, every shape. (Over several
    /// processes: DataParallelTests.)
    @Test(arguments: shapes)
    func syncMatchesReferenceInOneProcess(shape: [Int]) throws {
        try checkLayer("batchnorm bn sync=true", input: shape, modes: [.train, .test], dtypes: Self.dtypes(shape)) {
            Self.reference($0, eps: 1e-5, momentum: 0.9)
        }
    }

    /// Hand-computed: x = [1, 2, 3] in one feature has mean 2 and biased variance 2/3, so with eps → 0
    /// x̂ = [−1, 0, 1]·sqrt(3/2); running_mean = 0.9·0 + 0.1·2 = 0.2, running_var = 0.9·1 + 0.1·(2/3).
    @Test func handComputedValues() throws {
        let harness = try LayerHarness(layerLine: "batchnorm bn eps=1e-300", input: [3, 1], dtype: .float64)
        let out = try harness.layer.forward([1, 2, 3], mode: .train)
        let s = (1.5).squareRoot()
        expectClose(out, [-s, 0, s], 1e-15, "normalized output")
        expectClose(try harness.model.tensor("bn.running_mean"), [0.2], 1e-15, "running mean")
        expectClose(try harness.model.tensor("bn.running_var"), [0.9 + 0.1 * 2 / 3], 1e-15, "running var")
    }
}
