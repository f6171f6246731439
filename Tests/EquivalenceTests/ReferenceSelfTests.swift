// Self-tests of the float64 reference (Tests/EquivalenceTests/Reference): every backward agrees with a
// centered-difference numerical gradient, and a few values are checked against hand computations.
import Foundation
import Testing

@Suite("Reference self-tests")
struct ReferenceSelfTests {
    /// Required agreement between an analytic and a numerical gradient (norm-wise relative error).
    static let gradientTolerance = 1e-7

    // MARK: - Helpers

    /// Expects `analytic` to be the gradient of `loss` at `input`, to `gradientTolerance`.
    func expectGradient(
        _ name: String, _ analytic: RefTensor, at input: RefTensor,
        sourceLocation: SourceLocation = #_sourceLocation,
        of loss: (RefTensor) -> Double
    ) {
        #expect(
            analytic.shape == input.shape,
            "\(name): gradient shape \(analytic.shape) vs input \(input.shape)",
            sourceLocation: sourceLocation)
        let numeric = Reference.numericalGradient(
            of: { loss(RefTensor(shape: input.shape, data: $0)) }, at: input.data)
        let error = Reference.relativeError(analytic.data, numeric)
        #expect(
            error <= Self.gradientTolerance,
            "\(name): relative error \(error) against the numerical gradient",
            sourceLocation: sourceLocation)
    }

    /// Expects two arrays to agree to `tolerance` in norm-wise relative error.
    func expectClose(
        _ actual: [Double], _ expected: [Double], tolerance: Double = 1e-12,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            actual.count == expected.count, "\(actual.count) values, expected \(expected.count)",
            sourceLocation: sourceLocation)
        guard actual.count == expected.count else { return }
        let error = Reference.relativeError(actual, expected)
        #expect(
            error <= tolerance, "got \(actual), expected \(expected) (relative error \(error))",
            sourceLocation: sourceLocation)
    }

    // MARK: - Helpers of the helpers

    @Test func relativeErrorIsNormWise() {
        #expect(Reference.relativeError([1, 2], [1, 2.5]) == 0.5 / 2.5)
        #expect(Reference.relativeError([0, 0], [0, 0]) == 0)
        #expect(Reference.relativeError([], []) == 0)
        #expect(Reference.relativeError([-4, 1e-9], [-4, 2e-9]) == 1e-9 / 4)
        #expect(Reference.relativeError([1, .nan], [1, 1]) == .infinity)
    }

    @Test func numericalGradientOfKnownFunction() {
        // f(x) = x0² x1 + sin(x2)  →  ∇f = (2 x0 x1, x0², cos(x2))
        let x = [1.5, -2.0, 0.3]
        let gradient = Reference.numericalGradient(of: { $0[0] * $0[0] * $0[1] + sin($0[2]) }, at: x)
        expectClose(gradient, [2 * 1.5 * -2.0, 1.5 * 1.5, cos(0.3)], tolerance: 1e-9)
    }

    @Test func randomIsDeterministicAndInRange() {
        let a = RefTensor.random(shape: [3, 4, 5], seed: 42, scale: 0.5)
        let b = RefTensor.random(shape: [3, 4, 5], seed: 42, scale: 0.5)
        let c = RefTensor.random(shape: [3, 4, 5], seed: 43, scale: 0.5)
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 60 && a.shape == [3, 4, 5])
        #expect(a.data.allSatisfy { $0 >= -0.5 && $0 < 0.5 })
        #expect(a.data.contains { $0 < -0.25 } && a.data.contains { $0 > 0.25 })
        // SplitMix64's published first output for seed 0.
        var rng = Reference.SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        let labels = Reference.randomLabels(count: 100, classes: 7, seed: 1)
        #expect(labels.allSatisfy { (0..<7).contains($0) } && Set(labels).count == 7)
        let mask = Reference.randomMask(shape: [1000], keep: 0.8, seed: 2)
        let kept = mask.data.filter { $0 == 1 }.count
        #expect(mask.data.allSatisfy { $0 == 0 || $0 == 1 } && kept > 740 && kept < 860)
    }

    // MARK: - Affine

    @Test func affineHandExample() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] + [1, −1] = [[19, 22], [43, 50]] + [1, −1]
        let x = RefTensor(shape: [2, 2], data: [1, 2, 3, 4])
        let w = RefTensor(shape: [2, 2], data: [5, 6, 7, 8])
        let b = RefTensor(shape: [2], data: [1, -1])
        let out = Reference.affineForward(x: x, w: w, b: b)
        #expect(out == RefTensor(shape: [2, 2], data: [20, 21, 44, 49]))
        // dout = ones: dx = 1·Wᵀ row sums, dW = column sums of x, db = N.
        let (dx, dw, db) = Reference.affineBackward(
            dout: RefTensor(shape: [2, 2], data: [1, 1, 1, 1]), x: x, w: w)
        #expect(dx.data == [11, 15, 11, 15])
        #expect(dw.data == [4, 4, 6, 6])
        #expect(db.data == [2, 2])
    }

    struct AffineCase: Sendable, CustomTestStringConvertible {
        var xShape: [Int]
        var m: Int
        var testDescription: String { "x \(xShape) → M \(m)" }
    }

    static let affineCases = [
        AffineCase(xShape: [1, 1], m: 1), AffineCase(xShape: [2, 7], m: 3),
        AffineCase(xShape: [3, 13], m: 5), AffineCase(xShape: [2, 3, 2, 2], m: 4),
    ]

    @Test(arguments: affineCases)
    func affineGradients(_ c: AffineCase) {
        let d = c.xShape.dropFirst().reduce(1, *)
        let x = RefTensor.random(shape: c.xShape, seed: 1)
        let w = RefTensor.random(shape: [d, c.m], seed: 2)
        let b = RefTensor.random(shape: [c.m], seed: 3)
        let r = RefTensor.random(shape: [c.xShape[0], c.m], seed: 4)
        let (dx, dw, db) = Reference.affineBackward(dout: r, x: x, w: w)
        expectGradient("dx", dx, at: x) { Reference.dot(Reference.affineForward(x: $0, w: w, b: b), r) }
        expectGradient("dW", dw, at: w) { Reference.dot(Reference.affineForward(x: x, w: $0, b: b), r) }
        expectGradient("db", db, at: b) { Reference.dot(Reference.affineForward(x: x, w: w, b: $0), r) }
    }

    // MARK: - Activations and dropout

    @Test func activationHandValues() {
        let x = RefTensor(shape: [5], data: [-2, 0, 3, 1000, -1000])
        #expect(Reference.reluForward(x: x).data == [0, 0, 3, 1000, 0])
        // The ReLU gradient is 0 at x = 0.
        let ones = RefTensor(shape: [5], data: [1, 1, 1, 1, 1])
        #expect(Reference.reluBackward(dout: ones, x: x).data == [0, 0, 1, 1, 0])
        let s = Reference.sigmoidForward(x: x)
        expectClose(Array(s.data[0..<3]), [1 / (1 + exp(2.0)), 0.5, 1 / (1 + exp(-3.0))])
        #expect(s[3] == 1 && s[4] >= 0 && s[4] < 1e-300 && s.data.allSatisfy { !$0.isNaN })
        #expect(Reference.sigmoidBackward(dout: ones, out: s)[1] == 0.25)
        let t = Reference.tanhForward(x: x)
        #expect(t[1] == 0 && t[3] == 1 && t[4] == -1)
        #expect(Reference.tanhBackward(dout: ones, out: t)[1] == 1)
    }

    static let elementwiseShapes: [[Int]] = [[1, 1], [2, 7], [3, 13], [2, 3, 2, 2]]

    @Test(arguments: elementwiseShapes)
    func activationGradients(_ shape: [Int]) {
        let x = RefTensor.random(shape: shape, seed: 5, scale: 3)
        let r = RefTensor.random(shape: shape, seed: 6)
        expectGradient("relu", Reference.reluBackward(dout: r, x: x), at: x) {
            Reference.dot(Reference.reluForward(x: $0), r)
        }
        let s = Reference.sigmoidForward(x: x)
        expectGradient("sigmoid", Reference.sigmoidBackward(dout: r, out: s), at: x) {
            Reference.dot(Reference.sigmoidForward(x: $0), r)
        }
        let t = Reference.tanhForward(x: x)
        expectGradient("tanh", Reference.tanhBackward(dout: r, out: t), at: x) {
            Reference.dot(Reference.tanhForward(x: $0), r)
        }
    }

    @Test func dropoutHandExample() {
        let x = RefTensor(shape: [4], data: [1, 2, 3, 4])
        let mask = RefTensor(shape: [4], data: [1, 0, 1, 0])
        #expect(Reference.dropoutForward(x: x, mask: mask, keep: 0.5).data == [2, 0, 6, 0])
        #expect(Reference.dropoutBackward(dout: x, mask: mask, keep: 0.5).data == [2, 0, 6, 0])
    }

    @Test(arguments: elementwiseShapes)
    func dropoutGradient(_ shape: [Int]) {
        let x = RefTensor.random(shape: shape, seed: 7)
        let r = RefTensor.random(shape: shape, seed: 8)
        let mask = Reference.randomMask(shape: shape, keep: 0.7, seed: 9)
        expectGradient("dropout", Reference.dropoutBackward(dout: r, mask: mask, keep: 0.7), at: x) {
            Reference.dot(Reference.dropoutForward(x: $0, mask: mask, keep: 0.7), r)
        }
    }

    // MARK: - Batchnorm

    @Test func batchNormHandExample() {
        // x = [1, 2, 3] (N = 3, D = 1), eps = 0: μ = 2, σ² = 2/3, x̂ = (−1, 0, 1)/sqrt(2/3) = ∓sqrt(3/2).
        let x = RefTensor(shape: [3, 1], data: [1, 2, 3])
        let (out, runningMean, runningVar, cache) = Reference.batchNormForwardTrain(
            x: x, gamma: RefTensor(shape: [1], data: [2]), beta: RefTensor(shape: [1], data: [0.5]),
            runningMean: RefTensor(shape: [1], data: [0]), runningVar: RefTensor(shape: [1], data: [1]),
            momentum: 0.9, eps: 0)
        let r = sqrt(1.5)
        expectClose(cache.xhat.data, [-r, 0, r])
        expectClose(out.data, [0.5 - 2 * r, 0.5, 0.5 + 2 * r])
        expectClose(cache.mean, [2])
        expectClose(cache.variance, [2.0 / 3])
        expectClose(runningMean.data, [0.1 * 2])
        expectClose(runningVar.data, [0.9 + 0.1 * (2.0 / 3)])
        // dout = (1, 0, 0), γ = 2, σ = sqrt(2/3): dβ = 1, dγ = x̂_0 = −sqrt(3/2), dx̂ = (2, 0, 0),
        // Σ dx̂ = 2, Σ dx̂ x̂ = −2 sqrt(3/2), so dx = (1/(3σ)) (3 dx̂ − 2 + 2 sqrt(3/2) x̂)
        //   = (1/(3σ)) (6 − 2 − 3, −2, −2 + 3) = (2/(3σ)) (1/2, −1, 1/2).
        let (dx, dgamma, dbeta) = Reference.batchNormBackwardTrain(
            dout: RefTensor(shape: [3, 1], data: [1, 0, 0]), cache: cache)
        let k = 2 / (3 * sqrt(2.0 / 3))
        expectClose(dx.data, [k * 0.5, -k, k * 0.5])
        expectClose(dgamma.data, [-r])
        expectClose(dbeta.data, [1])
    }

    @Test func batchNormTestModeHandExample() {
        // running mean 1, running var 3, eps 1: x̂ = (x − 1)/2; γ = 2, β = 0.5.
        let x = RefTensor(shape: [2, 1], data: [3, -1])
        let params = (
            gamma: RefTensor(shape: [1], data: [2]), beta: RefTensor(shape: [1], data: [0.5]),
            mean: RefTensor(shape: [1], data: [1]), variance: RefTensor(shape: [1], data: [3])
        )
        let out = Reference.batchNormForwardTest(
            x: x, gamma: params.gamma, beta: params.beta, runningMean: params.mean,
            runningVar: params.variance, eps: 1)
        #expect(out.data == [2.5, -1.5])
        let (dx, dgamma, dbeta) = Reference.batchNormBackwardTest(
            dout: RefTensor(shape: [2, 1], data: [1, 3]), x: x, gamma: params.gamma,
            runningMean: params.mean, runningVar: params.variance, eps: 1)
        #expect(dx.data == [1, 3])  // dout · γ / 2
        #expect(dgamma.data == [1 * 1 + 3 * -1])
        #expect(dbeta.data == [4])
    }

    @Test func batchNormSingleSampleIsConstant() {
        // N = 1 in train mode: x − μ = 0 exactly, so out = β and dx = 0.
        let x = RefTensor.random(shape: [1, 4], seed: 10)
        let gamma = RefTensor.random(shape: [4], seed: 11)
        let beta = RefTensor.random(shape: [4], seed: 12)
        let (out, _, _, cache) = Reference.batchNormForwardTrain(
            x: x, gamma: gamma, beta: beta, runningMean: RefTensor(zeros: [4]),
            runningVar: RefTensor(zeros: [4]), momentum: 0.9, eps: 1e-5)
        #expect(out.data == beta.data)
        let (dx, _, _) = Reference.batchNormBackwardTrain(
            dout: RefTensor.random(shape: [1, 4], seed: 13), cache: cache)
        #expect(dx.data.allSatisfy { $0 == 0 })
    }

    struct NormCase: Sendable, CustomTestStringConvertible {
        var shape: [Int]
        var eps: Double
        var testDescription: String { "x \(shape), eps \(eps)" }
    }

    /// Batchnorm cases. When a channel has only two values (N·H·W = 2), x̂ = ±1 up to eps, so
    /// the exact dx is O(eps/σ²): with eps = 1e-5 it drowns in finite-difference noise (relative
    /// error ~1e-5 for a correct backward). Those cases use eps = 0.1, which keeps dx measurable.
    static let batchNormCases = [
        NormCase(shape: [1, 3], eps: 1e-5), NormCase(shape: [2, 1], eps: 0.1),
        NormCase(shape: [3, 7], eps: 1e-5), NormCase(shape: [3, 7], eps: 0.1),
        NormCase(shape: [2, 13], eps: 0.1), NormCase(shape: [5, 2], eps: 1e-5),
        NormCase(shape: [1, 2, 3, 3], eps: 1e-5), NormCase(shape: [2, 3, 2, 4], eps: 1e-5),
        NormCase(shape: [3, 1, 1, 2], eps: 1e-5), NormCase(shape: [2, 2, 1, 1], eps: 0.1),
    ]

    @Test(arguments: batchNormCases)
    func batchNormTrainGradients(_ c: NormCase) {
        let (shape, eps) = (c.shape, c.eps)
        let channels = shape[1]
        let x = RefTensor.random(shape: shape, seed: 14, scale: 2)
        let gamma = RefTensor.random(shape: [channels], seed: 15)
        let beta = RefTensor.random(shape: [channels], seed: 16)
        let runningMean = RefTensor.random(shape: [channels], seed: 17)
        let runningVar = RefTensor(shape: [channels], data: (0..<channels).map { 1 + Double($0) })
        let r = RefTensor.random(shape: shape, seed: 18)
        func loss(_ x: RefTensor, _ gamma: RefTensor, _ beta: RefTensor) -> Double {
            let result = Reference.batchNormForwardTrain(
                x: x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                momentum: 0.9, eps: eps)
            return Reference.dot(result.out, r)
        }
        let forward = Reference.batchNormForwardTrain(
            x: x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
            momentum: 0.9, eps: eps)
        let (dx, dgamma, dbeta) = Reference.batchNormBackwardTrain(dout: r, cache: forward.cache)
        expectGradient("dx", dx, at: x) { loss($0, gamma, beta) }
        expectGradient("dγ", dgamma, at: gamma) { loss(x, $0, beta) }
        expectGradient("dβ", dbeta, at: beta) { loss(x, gamma, $0) }
        // Running statistics: momentum blend with the batch mean and the biased batch variance.
        let spatial = shape.count == 4 ? shape[2] * shape[3] : 1
        for channel in 0..<channels {
            let values = (0..<x.count).filter { ($0 / spatial) % channels == channel }.map { x[$0] }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            expectClose([forward.runningMean[channel]], [0.9 * runningMean[channel] + 0.1 * mean])
            expectClose([forward.runningVar[channel]], [0.9 * runningVar[channel] + 0.1 * variance])
        }
    }

    @Test(arguments: batchNormCases)
    func batchNormTestGradients(_ c: NormCase) {
        let (shape, eps) = (c.shape, c.eps)
        let channels = shape[1]
        let x = RefTensor.random(shape: shape, seed: 19, scale: 2)
        let gamma = RefTensor.random(shape: [channels], seed: 20)
        let beta = RefTensor.random(shape: [channels], seed: 21)
        let runningMean = RefTensor.random(shape: [channels], seed: 22)
        let runningVar = RefTensor(shape: [channels], data: (0..<channels).map { 0.5 + Double($0) })
        let r = RefTensor.random(shape: shape, seed: 23)
        func loss(_ x: RefTensor, _ gamma: RefTensor, _ beta: RefTensor) -> Double {
            let out = Reference.batchNormForwardTest(
                x: x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, eps: eps)
            return Reference.dot(out, r)
        }
        let (dx, dgamma, dbeta) = Reference.batchNormBackwardTest(
            dout: r, x: x, gamma: gamma, runningMean: runningMean, runningVar: runningVar, eps: eps)
        expectGradient("dx", dx, at: x) { loss($0, gamma, beta) }
        expectGradient("dγ", dgamma, at: gamma) { loss(x, $0, beta) }
        expectGradient("dβ", dbeta, at: beta) { loss(x, gamma, $0) }
    }

    /// The check has teeth: the notes' transcription error (dividing by σ² + eps instead of its
    /// square root) must fail the gradient check by a wide margin.
    @Test func gradientCheckCatchesSquaredStd() {
        let x = RefTensor.random(shape: [4, 3], seed: 24, scale: 2)
        let gamma = RefTensor.random(shape: [3], seed: 25)
        let beta = RefTensor(zeros: [3])
        let r = RefTensor.random(shape: [4, 3], seed: 26)
        let stats = (mean: RefTensor(zeros: [3]), variance: RefTensor(zeros: [3]))
        let forward = Reference.batchNormForwardTrain(
            x: x, gamma: gamma, beta: beta, runningMean: stats.mean, runningVar: stats.variance,
            momentum: 0.9, eps: 1e-5)
        var wrongCache = forward.cache
        wrongCache.invStd = wrongCache.invStd.map { $0 * $0 }
        let wrong = Reference.batchNormBackwardTrain(dout: r, cache: wrongCache).dx
        let numeric = Reference.numericalGradient(
            of: {
                Reference.dot(
                    Reference.batchNormForwardTrain(
                        x: RefTensor(shape: x.shape, data: $0), gamma: gamma, beta: beta,
                        runningMean: stats.mean, runningVar: stats.variance, momentum: 0.9, eps: 1e-5
                    ).out, r)
            }, at: x.data)
        #expect(Reference.relativeError(wrong.data, numeric) > 1e-2)
    }

    // MARK: - Layernorm and groupnorm

    @Test func layerNormHandExample() {
        // Row [1, 2, 3] with eps 0 → ∓sqrt(3/2), 0; a row of equal values → all zero.
        let x = RefTensor(shape: [2, 3], data: [1, 2, 3, 5, 5, 5])
        let ones = RefTensor(shape: [3], data: [1, 1, 1])
        let (out, cache) = Reference.layerNormForward(
            x: x, gamma: ones, beta: RefTensor(zeros: [3]), eps: 0.0)
        let r = sqrt(1.5)
        expectClose(Array(out.data[0..<3]), [-r, 0, r])
        #expect(cache.mean == [2, 5])
        // eps = 0 and a constant row: 0/0 is NaN, so use eps > 0 for that row's check.
        let (constant, _) = Reference.layerNormForward(
            x: RefTensor(shape: [1, 3], data: [5, 5, 5]), gamma: ones, beta: RefTensor(zeros: [3]),
            eps: 1e-5)
        #expect(constant.data == [0, 0, 0])
    }

    static let layerNormCases = [
        NormCase(shape: [1, 1], eps: 1e-5), NormCase(shape: [1, 7], eps: 1e-5),
        NormCase(shape: [2, 7], eps: 1e-5), NormCase(shape: [3, 13], eps: 1e-5),
        NormCase(shape: [3, 13], eps: 0.1), NormCase(shape: [2, 1], eps: 1e-5),
    ]

    @Test(arguments: layerNormCases)
    func layerNormGradients(_ c: NormCase) {
        let (shape, eps) = (c.shape, c.eps)
        let d = shape[1]
        let x = RefTensor.random(shape: shape, seed: 27, scale: 2)
        let gamma = RefTensor.random(shape: [d], seed: 28)
        let beta = RefTensor.random(shape: [d], seed: 29)
        let r = RefTensor.random(shape: shape, seed: 30)
        func loss(_ x: RefTensor, _ gamma: RefTensor, _ beta: RefTensor) -> Double {
            Reference.dot(Reference.layerNormForward(x: x, gamma: gamma, beta: beta, eps: eps).out, r)
        }
        let (_, cache) = Reference.layerNormForward(x: x, gamma: gamma, beta: beta, eps: eps)
        let (dx, dgamma, dbeta) = Reference.layerNormBackward(dout: r, cache: cache)
        expectGradient("dx", dx, at: x) { loss($0, gamma, beta) }
        expectGradient("dγ", dgamma, at: gamma) { loss(x, $0, beta) }
        expectGradient("dβ", dbeta, at: beta) { loss(x, gamma, $0) }
    }

    struct GroupNormCase: Sendable, CustomTestStringConvertible {
        var shape: [Int]
        var groups: Int
        var eps = 1e-5
        var testDescription: String { "x \(shape), G = \(groups), eps \(eps)" }
    }

    static let groupNormCases = [
        GroupNormCase(shape: [2, 4, 2, 3], groups: 1), GroupNormCase(shape: [2, 4, 2, 3], groups: 4),
        GroupNormCase(shape: [3, 6, 2, 2], groups: 2), GroupNormCase(shape: [1, 6, 1, 3], groups: 3),
        GroupNormCase(shape: [1, 1, 3, 3], groups: 1),
        GroupNormCase(shape: [2, 3, 1, 3], groups: 3, eps: 0.1),
    ]

    @Test(arguments: groupNormCases)
    func groupNormGradients(_ c: GroupNormCase) {
        let channels = c.shape[1]
        let x = RefTensor.random(shape: c.shape, seed: 31, scale: 2)
        let gamma = RefTensor.random(shape: [channels], seed: 32)
        let beta = RefTensor.random(shape: [channels], seed: 33)
        let r = RefTensor.random(shape: c.shape, seed: 34)
        func loss(_ x: RefTensor, _ gamma: RefTensor, _ beta: RefTensor) -> Double {
            let out = Reference.groupNormForward(
                x: x, gamma: gamma, beta: beta, groups: c.groups, eps: c.eps
            ).out
            return Reference.dot(out, r)
        }
        let (_, cache) = Reference.groupNormForward(
            x: x, gamma: gamma, beta: beta, groups: c.groups, eps: c.eps)
        let (dx, dgamma, dbeta) = Reference.groupNormBackward(dout: r, cache: cache)
        expectGradient("dx", dx, at: x) { loss($0, gamma, beta) }
        expectGradient("dγ", dgamma, at: gamma) { loss(x, $0, beta) }
        expectGradient("dβ", dbeta, at: beta) { loss(x, gamma, $0) }
    }

    /// Groupnorm against the other norms: G = 1 is layernorm over (C, H, W) of each sample, and
    /// G = C normalizes each (n, c) over (H, W), i.e. batchnorm on each sample alone.
    @Test func groupNormMatchesLayerNormAndBatchNorm() {
        let shape = [2, 3, 2, 2]
        let x = RefTensor.random(shape: shape, seed: 35, scale: 2)
        let ones = RefTensor(shape: [3], data: [1, 1, 1])
        let zeros = RefTensor(zeros: [3])
        let g1 = Reference.groupNormForward(x: x, gamma: ones, beta: zeros, groups: 1, eps: 1e-5).out
        let layer = Reference.layerNormForward(
            x: x.reshaped([2, 12]), gamma: RefTensor(shape: [12], data: Array(repeating: 1, count: 12)),
            beta: RefTensor(zeros: [12]), eps: 1e-5
        ).out
        expectClose(g1.data, layer.data)
        let gC = Reference.groupNormForward(x: x, gamma: ones, beta: zeros, groups: 3, eps: 1e-5).out
        for n in 0..<2 {
            let sample = RefTensor(shape: [1, 3, 2, 2], data: Array(x.data[n * 12..<(n + 1) * 12]))
            let batch = Reference.batchNormForwardTrain(
                x: sample, gamma: ones, beta: zeros, runningMean: zeros, runningVar: ones, momentum: 0.9,
                eps: 1e-5
            ).out
            expectClose(Array(gC.data[n * 12..<(n + 1) * 12]), batch.data)
        }
    }

    // MARK: - Convolution

    @Test func convHandExamples() {
        // x = 1...9 as 3×3, a 2×2 kernel of ones, b = 0.
        let x = RefTensor(shape: [1, 1, 3, 3], data: (1...9).map(Double.init))
        let w = RefTensor(shape: [1, 1, 2, 2], data: [1, 1, 1, 1])
        let b = RefTensor(zeros: [1])
        // Stride 1, pad 0: sums of each 2×2 block.
        let plain = Reference.convForward(x: x, w: w, b: b, stride: 1, pad: 0)
        #expect(plain == RefTensor(shape: [1, 1, 2, 2], data: [12, 16, 24, 28]))
        // Stride 2, pad 1: windows start at (−1, −1), (−1, 1), (1, −1), (1, 1).
        let padded = Reference.convForward(
            x: x, w: w, b: RefTensor(shape: [1], data: [0.5]), stride: 2, pad: 1)
        #expect(padded == RefTensor(shape: [1, 1, 2, 2], data: [1.5, 5.5, 11.5, 28.5]))
        // Backward of the stride-2 case with dout = ones: the four windows tile the padded input
        // (rows/columns −1...2) exactly once, so dx = 1 everywhere; dW sums the x each tap saw.
        let (dx, dw, db) = Reference.convBackward(
            dout: RefTensor(shape: [1, 1, 2, 2], data: [1, 1, 1, 1]), x: x, w: w, stride: 2, pad: 1)
        #expect(dx.data == Array(repeating: 1, count: 9))
        // Tap (ky, kx) reads rows −1 + ky + {0, 2} and columns −1 + kx + {0, 2}, inside x only:
        // tap (0,0) reads x[1][1] = 5; tap (0,1) row 1, columns 0 and 2: 4 + 6; tap (1,0): 2 + 8;
        // tap (1,1) rows 0, 2 × columns 0, 2: 1 + 3 + 7 + 9.
        #expect(dw.data == [5, 10, 10, 20])
        #expect(db.data == [4])
        // A 3×2 kernel on a 2-channel input: out = b + Σ_c Σ taps.
        let x2 = RefTensor(shape: [1, 2, 3, 2], data: [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60])
        let w2 = RefTensor(shape: [1, 2, 3, 2], data: [1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0])
        let single = Reference.convForward(
            x: x2, w: w2, b: RefTensor(shape: [1], data: [-1]), stride: 1, pad: 0)
        #expect(single == RefTensor(shape: [1, 1, 1, 1], data: [1 + 6 + 20 + 50 - 1]))
    }

    struct ConvCase: Sendable, CustomTestStringConvertible {
        var n: Int, c: Int, h: Int, w: Int
        var f: Int, kh: Int, kw: Int
        var stride: Int, pad: Int
        var testDescription: String {
            "x [\(n), \(c), \(h), \(w)], W [\(f), \(c), \(kh), \(kw)], stride \(stride), pad \(pad)"
        }
    }

    static let convCases = [
        ConvCase(n: 2, c: 3, h: 5, w: 6, f: 4, kh: 3, kw: 2, stride: 2, pad: 1),
        ConvCase(n: 1, c: 2, h: 4, w: 4, f: 3, kh: 1, kw: 1, stride: 1, pad: 0),
        ConvCase(n: 3, c: 1, h: 5, w: 4, f: 2, kh: 3, kw: 3, stride: 1, pad: 1),
        ConvCase(n: 1, c: 2, h: 6, w: 5, f: 2, kh: 3, kw: 3, stride: 2, pad: 0),  // floor: rows unused
        ConvCase(n: 2, c: 2, h: 3, w: 3, f: 1, kh: 1, kw: 1, stride: 2, pad: 1),  // 1×1 seeing padding
        ConvCase(n: 1, c: 1, h: 4, w: 3, f: 2, kh: 2, kw: 3, stride: 1, pad: 2),
    ]

    @Test(arguments: convCases)
    func convGradients(_ c: ConvCase) {
        let x = RefTensor.random(shape: [c.n, c.c, c.h, c.w], seed: 36)
        let w = RefTensor.random(shape: [c.f, c.c, c.kh, c.kw], seed: 37)
        let b = RefTensor.random(shape: [c.f], seed: 38)
        let oh = (c.h + 2 * c.pad - c.kh) / c.stride + 1
        let ow = (c.w + 2 * c.pad - c.kw) / c.stride + 1
        let out = Reference.convForward(x: x, w: w, b: b, stride: c.stride, pad: c.pad)
        #expect(out.shape == [c.n, c.f, oh, ow])
        let r = RefTensor.random(shape: out.shape, seed: 39)
        func loss(_ x: RefTensor, _ w: RefTensor, _ b: RefTensor) -> Double {
            Reference.dot(Reference.convForward(x: x, w: w, b: b, stride: c.stride, pad: c.pad), r)
        }
        let (dx, dw, db) = Reference.convBackward(dout: r, x: x, w: w, stride: c.stride, pad: c.pad)
        expectGradient("dx", dx, at: x) { loss($0, w, b) }
        expectGradient("dW", dw, at: w) { loss(x, $0, b) }
        expectGradient("db", db, at: b) { loss(x, w, $0) }
    }

    // MARK: - Max pooling

    @Test func maxPoolHandExamples() {
        // 3×3 input, K = 2, S = 1: overlapping windows; the center 9 wins all four and accumulates.
        let x = RefTensor(shape: [1, 1, 3, 3], data: [1, 2, 3, 4, 9, 5, 6, 7, 8])
        let (out, argmax) = Reference.maxPoolForward(x: x, size: 2, stride: 1)
        #expect(out.data == [9, 9, 9, 9] && argmax == [4, 4, 4, 4])
        let dx = Reference.maxPoolBackward(
            dout: RefTensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4]), x: x, size: 2, stride: 1)
        #expect(dx.data == [0, 0, 0, 0, 10, 0, 0, 0, 0])
        // Ties go to the first maximum in row-major window order.
        let ties = RefTensor(shape: [1, 1, 2, 4], data: [7, 7, 0, 3, 7, 7, 3, 3])
        let (tieOut, tieArgmax) = Reference.maxPoolForward(x: ties, size: 2, stride: 2)
        #expect(tieOut.data == [7, 3] && tieArgmax == [0, 3])
        // Stride larger than the window: columns 2 (and the last row) are never read.
        let sparse = RefTensor(shape: [1, 1, 3, 5], data: (0..<15).map(Double.init))
        let sparseOut = Reference.maxPoolForward(x: sparse, size: 2, stride: 3).out
        #expect(sparseOut == RefTensor(shape: [1, 1, 1, 2], data: [6, 9]))
    }

    struct PoolCase: Sendable, CustomTestStringConvertible {
        var shape: [Int]
        var size: Int
        var stride: Int
        var testDescription: String { "x \(shape), K = \(size), S = \(stride)" }
    }

    static let poolCases = [
        PoolCase(shape: [2, 3, 4, 4], size: 2, stride: 2),
        PoolCase(shape: [1, 2, 5, 5], size: 3, stride: 2),  // overlap
        PoolCase(shape: [3, 1, 4, 5], size: 3, stride: 1),  // heavy overlap
        PoolCase(shape: [2, 2, 7, 8], size: 2, stride: 3),  // stride > size
        PoolCase(shape: [1, 1, 5, 4], size: 2, stride: 2),  // floor: last row unused
    ]

    @Test(arguments: poolCases)
    func maxPoolGradients(_ c: PoolCase) {
        let x = RefTensor.random(shape: c.shape, seed: 40)
        let (out, _) = Reference.maxPoolForward(x: x, size: c.size, stride: c.stride)
        let r = RefTensor.random(shape: out.shape, seed: 41)
        let dx = Reference.maxPoolBackward(dout: r, x: x, size: c.size, stride: c.stride)
        expectGradient("dx", dx, at: x) {
            Reference.dot(Reference.maxPoolForward(x: $0, size: c.size, stride: c.stride).out, r)
        }
    }

    // MARK: - Losses

    @Test func softmaxLossHandExamples() {
        // Zero logits: p = 1/C, loss = log C, dlogits = (1/C − onehot)/N.
        let (loss, dlogits) = Reference.softmaxCrossEntropy(
            logits: RefTensor(zeros: [2, 4]), labels: [1, 3])
        expectClose([loss], [log(4.0)])
        expectClose(dlogits.data, [0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375])
        // Stability: logits of 1000 do not overflow.
        let (big, dbig) = Reference.softmaxCrossEntropy(
            logits: RefTensor(shape: [2, 2], data: [1000, 0, 1000, 0]), labels: [0, 1])
        expectClose([big], [(log1p(exp(-1000.0)) + 1000 + log1p(exp(-1000.0))) / 2])
        expectClose(dbig.data, [0, 0, 0.5, -0.5])
        // One row, [0, ln 2, ln 3]: p = (1, 2, 3)/6.
        let (row, drow) = Reference.softmaxCrossEntropy(
            logits: RefTensor(shape: [1, 3], data: [0, log(2.0), log(3.0)]), labels: [2])
        expectClose([row], [log(2.0)])
        expectClose(drow.data, [1.0 / 6, 2.0 / 6, 3.0 / 6 - 1])
    }

    @Test func svmLossHandExample() {
        // Row 0, label 0: margins 2−1+1 = 2, 3−1+1 = 3. Row 1, label 2: margins 1−3+1 < 0, 2.5−3+1 = 0.5.
        let (loss, dscores) = Reference.svmLoss(
            scores: RefTensor(shape: [2, 3], data: [1, 2, 3, 1, 2.5, 3]), labels: [0, 2])
        expectClose([loss], [(5 + 0.5) / 2])
        expectClose(dscores.data, [-1, 0.5, 0.5, 0, 0.5, -0.5])
    }

    @Test func mseLossHandExample() {
        let (loss, dout) = Reference.mseLoss(
            output: RefTensor(shape: [1, 2], data: [1, 2]),
            target: RefTensor(shape: [1, 2], data: [0, 0]))
        #expect(loss == 2.5)
        #expect(dout.data == [1, 2])
    }

    struct LossCase: Sendable, CustomTestStringConvertible {
        var n: Int
        var classes: Int
        var testDescription: String { "N = \(n), C = \(classes)" }
    }

    static let lossCases = [
        LossCase(n: 1, classes: 1), LossCase(n: 1, classes: 7), LossCase(n: 2, classes: 3),
        LossCase(n: 3, classes: 13), LossCase(n: 5, classes: 10),
    ]

    @Test(arguments: lossCases)
    func lossGradients(_ c: LossCase) {
        let scores = RefTensor.random(shape: [c.n, c.classes], seed: 42, scale: 3)
        let labels = Reference.randomLabels(count: c.n, classes: c.classes, seed: 43)
        let softmax = Reference.softmaxCrossEntropy(logits: scores, labels: labels)
        expectGradient("softmax", softmax.dlogits, at: scores) {
            Reference.softmaxCrossEntropy(logits: $0, labels: labels).loss
        }
        let svm = Reference.svmLoss(scores: scores, labels: labels)
        expectGradient("svm", svm.dscores, at: scores) {
            Reference.svmLoss(scores: $0, labels: labels).loss
        }
        let target = RefTensor.random(shape: [c.n, c.classes], seed: 44)
        let mse = Reference.mseLoss(output: scores, target: target)
        expectGradient("mse", mse.doutput, at: scores) {
            Reference.mseLoss(output: $0, target: target).loss
        }
    }

    // MARK: - Optimizers

    @Test func sgdHandExample() {
        // p = 1, g = 0.5, lr 0.1, μ 0.9, λ 0.01.
        // Step 1: g' = 0.51, v = 0.51, p = 1 − 0.051 = 0.949.
        // Step 2: g' = 0.5 + 0.00949 = 0.50949, v = 0.459 + 0.50949 = 0.96849, p = 0.949 − 0.096849.
        let first = Reference.sgdStep(
            params: [1], grads: [0.5], state: Reference.SGDState(count: 1), lr: 0.1, momentum: 0.9,
            weightDecay: 0.01)
        expectClose(first.params, [0.949])
        expectClose(first.state.velocity, [0.51])
        let second = Reference.sgdStep(
            params: first.params, grads: [0.5], state: first.state, lr: 0.1, momentum: 0.9,
            weightDecay: 0.01)
        expectClose(second.state.velocity, [0.96849])
        expectClose(second.params, [0.852151])
        // μ = 0, λ = 0: plain gradient descent, p = p − lr g.
        let plain = Reference.sgdStep(
            params: [1, -2], grads: [0.5, -1], state: Reference.SGDState(count: 2), lr: 0.1, momentum: 0,
            weightDecay: 0)
        expectClose(plain.params, [0.95, -1.9])
    }

    @Test func adamHandExample() {
        // p = 1, g = 0.5 then 0.25, lr 0.001, β1 0.9, β2 0.999, eps 1e-8, λ 0.
        // Step 1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, p = 1 − 0.001 · 0.5 / (0.5 + 1e-8).
        let first = Reference.adamStep(
            params: [1], grads: [0.5], state: Reference.AdamState(count: 1), lr: 0.001)
        expectClose(first.state.m, [0.05])
        expectClose(first.state.v, [0.00025])
        #expect(first.state.step == 1)
        expectClose(first.params, [1 - 0.001 * 0.5 / (0.5 + 1e-8)])
        // Step 2: m = 0.045 + 0.025 = 0.07, v = 0.00024975 + 0.0000625 = 0.00031225,
        // m̂ = 0.07 / 0.19, v̂ = 0.00031225 / 0.001999.
        let second = Reference.adamStep(
            params: first.params, grads: [0.25], state: first.state, lr: 0.001)
        expectClose(second.state.m, [0.07])
        expectClose(second.state.v, [0.00031225])
        #expect(second.state.step == 2)
        let expected =
            first.params[0] - 0.001 * (0.07 / 0.19) / ((0.00031225 / 0.001999).squareRoot() + 1e-8)
        expectClose(second.params, [expected])
        // Weight decay is added to the gradient: p = 2, g = 0, λ = 0.5 → g' = 1, step = −lr · 1/(1 + eps).
        let decayed = Reference.adamStep(
            params: [2], grads: [0], state: Reference.AdamState(count: 1), lr: 0.1, weightDecay: 0.5)
        expectClose(decayed.params, [2 - 0.1 / (1 + 1e-8)])
    }
}
