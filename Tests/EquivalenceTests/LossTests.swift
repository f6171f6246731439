// Loss kernels (softmax, svm, mse) called on their own through `CompiledModel.loss`: against the reference, against
// finite differences, on hand-computed examples, and with targets they must refuse.

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct LossTests {
    static let losses = ["softmax", "svm", "mse"]
    /// [N, K]: batch sizes 1, 2, 3, 7 crossed with 2, 3, 10, 13 classes (or outputs per sample).
    static let shapes: [[Int]] = [1, 2, 3, 7].flatMap { n in [2, 3, 10, 13].map { k in [n, k] } }

    /// A model whose output is `[N, K]` and whose loss is `loss`; only its loss kernels are called.
    static func model(_ loss: String, n: Int, k: Int, dtype: DType) throws -> CompiledModel {
        let spec = "input x [\(n), \(k)]\ndtype \(dtype.rawValue)\naffine fc out=\(k)\nloss \(loss)\n"
        return try CompiledModel(graph: try ShapeInference.load(spec, path: "loss.spec"), backend: testBackend)
    }

    static func rounded(_ values: [Double], _ dtype: DType) -> [Double] {
        dtype == .float64 ? values : values.map { Double(Float($0)) }
    }

    /// Logits, targets, and the reference loss and dlogits for one case.
    struct Case {
        var logits: [Double]
        var target: LossTarget
        var loss: Double
        var dlogits: [Double]
    }

    /// Random logits in [−2, 2] and random targets. For svm, the seed is advanced until no margin
    /// s[k] − s[y] + 1 lies within 1e-3 of its kink, so centered differences (h = 1e-6) never straddle one.
    static func randomCase(_ loss: String, n: Int, k: Int, dtype: DType, seed: UInt64 = 11) -> Case {
        var seed = seed
        while true {
            let logits = rounded(RefTensor.random(shape: [n, k], seed: seed, scale: 2).data, dtype)
            let labels = Reference.randomLabels(count: n, classes: k, seed: seed &+ 1)
            let scores = RefTensor(shape: [n, k], data: logits)
            switch loss {
            case "softmax":
                let r = Reference.softmaxCrossEntropy(logits: scores, labels: labels)
                return Case(logits: logits, target: .classes(labels.map(Int32.init)), loss: r.loss, dlogits: r.dlogits.data)
            case "svm":
                let nearKink = (0..<n).contains { i in
                    (0..<k).contains { j in j != labels[i] && abs(logits[i * k + j] - logits[i * k + labels[i]] + 1) < 1e-3 }
                }
                if nearKink {
                    seed &+= 1000
                    continue
                }
                let r = Reference.svmLoss(scores: scores, labels: labels)
                return Case(logits: logits, target: .classes(labels.map(Int32.init)), loss: r.loss, dlogits: r.dscores.data)
            default:
                let values = rounded(RefTensor.random(shape: [n, k], seed: seed &+ 2, scale: 1.5).data, dtype)
                let r = Reference.mseLoss(output: scores, target: RefTensor(shape: [n, k], data: values))
                return Case(logits: logits, target: .values(values), loss: r.loss, dlogits: r.doutput.data)
            }
        }
    }

    @Test(arguments: losses, shapes)
    func matchesReference(loss: String, shape: [Int]) throws {
        let (n, k) = (shape[0], shape[1])
        for dtype in [DType.float64, .float32] {
            let model = try Self.model(loss, n: n, k: k, dtype: dtype)
            let c = Self.randomCase(loss, n: n, k: k, dtype: dtype)
            let context = "loss \(loss) on [\(n), \(k)], \(dtype.rawValue)"
            let tolerance = Tolerance.of(dtype)
            expectClose([try model.loss.forward(logits: c.logits, target: c.target)], [c.loss], tolerance, "loss of \(context)")
            expectClose(try model.loss.backward(logits: c.logits, target: c.target), c.dlogits, tolerance, "dlogits of \(context)")
        }
    }

    @Test(arguments: losses, shapes)
    func gradientMatchesFiniteDifferences(loss: String, shape: [Int]) throws {
        let (n, k) = (shape[0], shape[1])
        let model = try Self.model(loss, n: n, k: k, dtype: .float64)
        let c = Self.randomCase(loss, n: n, k: k, dtype: .float64)
        let analytic = try model.loss.backward(logits: c.logits, target: c.target)
        let numeric = Reference.numericalGradient(of: { (try? model.loss.forward(logits: $0, target: c.target)) ?? .nan }, at: c.logits)
        expectClose(
            analytic, numeric, Tolerance.gradientCheck, "gradient check of loss \(loss) on [\(n), \(k)]",
            floor: gradientFloor([analytic]))
    }

    /// Zero logits give the uniform distribution: loss = log K, dlogits = (1/K − [k = y])/N.
    @Test func softmaxOfZeroLogitsIsLogK() throws {
        let model = try Self.model("softmax", n: 2, k: 3, dtype: .float64)
        let target = LossTarget.classes([0, 2])
        let zeros = [Double](repeating: 0, count: 6)
        expectClose([try model.loss.forward(logits: zeros, target: target)], [log(3.0)], 1e-15, "softmax loss of zero logits")
        let third = 1.0 / 3
        expectClose(
            try model.loss.backward(logits: zeros, target: target),
            [(third - 1) / 2, third / 2, third / 2, third / 2, third / 2, (third - 1) / 2], 1e-15, "softmax dlogits of zero logits")
    }

    /// Label smoothing against the reference (float64 and float32) and finite differences, for ε from small to 1
    /// (where the target is uniform and the true class no longer matters).
    @Test(arguments: [0.1, 0.37, 1.0], [[1, 2], [3, 10], [7, 13]])
    func smoothedSoftmaxMatchesReferenceAndFiniteDifferences(smoothing: Double, shape: [Int]) throws {
        let (n, k) = (shape[0], shape[1])
        let loss = "softmax smoothing=\(smoothing)"
        for dtype in [DType.float64, .float32] {
            let model = try Self.model(loss, n: n, k: k, dtype: dtype)
            let logits = Self.rounded(RefTensor.random(shape: [n, k], seed: 21, scale: 2).data, dtype)
            let labels = Reference.randomLabels(count: n, classes: k, seed: 22)
            let r = Reference.softmaxCrossEntropy(logits: RefTensor(shape: [n, k], data: logits), labels: labels, smoothing: smoothing)
            let target = LossTarget.classes(labels.map(Int32.init))
            let context = "loss \(loss) on [\(n), \(k)], \(dtype.rawValue)"
            expectClose([try model.loss.forward(logits: logits, target: target)], [r.loss], Tolerance.of(dtype), "loss of \(context)")
            let analytic = try model.loss.backward(logits: logits, target: target)
            expectClose(analytic, r.dlogits.data, Tolerance.of(dtype), "dlogits of \(context)")
            if dtype == .float64 {
                let numeric = Reference.numericalGradient(of: { (try? model.loss.forward(logits: $0, target: target)) ?? .nan }, at: logits)
                expectClose(analytic, numeric, Tolerance.gradientCheck, "gradient check of \(context)", floor: gradientFloor([analytic]))
            }
        }
    }

    /// PyTorch's semantics: torch.nn.functional.cross_entropy(z, y, label_smoothing=ε) in float64 (torch 2.13) on
    /// z = [[1, 2, 3], [0.5, −1, 2]], y = [2, 0], its loss and z.grad, for ε = 0.1 and ε = 1.
    @Test func smoothedSoftmaxMatchesPyTorch() throws {
        let logits: [Double] = [1, 2, 3, 0.5, -1, 2]
        let target = LossTarget.classes([2, 0])
        let torch: [(Double, Double, [Double])] = [
            (
                0.1, 1.124458630550769,
                [
                    0.02834861991852355, 0.10569756886073216, -0.13404618877925578, -0.3790214705966483, 0.0028896199686770582,
                    0.3761318506279713,
                ]
            ),
            (
                1.0, 1.5744586305507688,
                [
                    -0.12165138008147644, -0.04430243113926784, 0.16595381122074424, -0.07902147059664831, -0.14711038003132293,
                    0.22613185062797128,
                ]
            ),
        ]
        for (smoothing, loss, grad) in torch {
            let model = try Self.model("softmax smoothing=\(smoothing)", n: 2, k: 3, dtype: .float64)
            expectClose([try model.loss.forward(logits: logits, target: target)], [loss], 1e-14, "PyTorch's loss, smoothing \(smoothing)")
            expectClose(try model.loss.backward(logits: logits, target: target), grad, 1e-14, "PyTorch's gradient, smoothing \(smoothing)")
        }
    }

    /// `smoothing=0` is the plain loss, to the bit (the same generated arithmetic).
    @Test func zeroSmoothingIsThePlainLossBitForBit() throws {
        let logits = RefTensor.random(shape: [7, 10], seed: 3, scale: 3).data.map { Double(Float($0)) }
        let target = LossTarget.classes(Reference.randomLabels(count: 7, classes: 10, seed: 4).map(Int32.init))
        let plain = try Self.model("softmax", n: 7, k: 10, dtype: .float32)
        let zero = try Self.model("softmax smoothing=0", n: 7, k: 10, dtype: .float32)
        #expect(try plain.loss.forward(logits: logits, target: target) == zero.loss.forward(logits: logits, target: target))
        #expect(try plain.loss.backward(logits: logits, target: target) == zero.loss.backward(logits: logits, target: target))
    }

    /// Three samples, three classes (the CS231n example): margins 2.9 and 0 | 0 and 0 | 6.3 and 6.6,
    /// loss = (2.9 + 0 + 12.9)/3; each positive margin adds 1/3 to its class and −1/3 to the true class.
    @Test func svmOfKnownScores() throws {
        let model = try Self.model("svm", n: 3, k: 3, dtype: .float64)
        let scores: [Double] = [3.2, 5.1, -1.7, 1.3, 4.9, 2.0, 2.2, 2.5, -3.1]
        let target = LossTarget.classes([0, 1, 2])
        expectClose([try model.loss.forward(logits: scores, target: target)], [(2.9 + 12.9) / 3], 1e-14, "svm loss of known scores")
        let t = 1.0 / 3
        expectClose(
            try model.loss.backward(logits: scores, target: target), [-t, t, 0, 0, 0, 0, t, t, -2 * t], 1e-15,
            "svm dscores of known scores")
    }

    /// Differences 1, 0, −2, 0: loss = (1 + 4)/4, doutput = 2·diff/4.
    @Test func mseOfKnownValues() throws {
        let model = try Self.model("mse", n: 2, k: 2, dtype: .float64)
        let target = LossTarget.values([0, 2, 5, 4])
        expectClose([try model.loss.forward(logits: [1, 2, 3, 4], target: target)], [1.25], 1e-15, "mse loss of known values")
        expectClose(try model.loss.backward(logits: [1, 2, 3, 4], target: target), [0.5, 0, -1, 0], 1e-15, "mse doutput of known values")
    }

    /// mse reads any output shape as [N, K]: a [2, 1, 2, 3] output is compared element by element.
    @Test func mseOnAnImageShapedOutput() throws {
        let spec = "input x [2, 1, 2, 3]\ndtype float64\nbatchnorm bn\nloss mse\n"
        let model = try CompiledModel(graph: try ShapeInference.load(spec, path: "mse4d.spec"), backend: testBackend)
        let output = RefTensor.random(shape: [2, 1, 2, 3], seed: 5, scale: 2)
        let target = RefTensor.random(shape: [2, 1, 2, 3], seed: 6, scale: 2)
        let expected = Reference.mseLoss(output: output, target: target)
        expectClose(
            [try model.loss.forward(logits: output.data, target: .values(target.data))], [expected.loss],
            Tolerance.float64, "mse loss on [2, 1, 2, 3]")
        expectClose(
            try model.loss.backward(logits: output.data, target: .values(target.data)), expected.doutput.data,
            Tolerance.float64, "mse doutput on [2, 1, 2, 3]")
    }

    /// Targets of the wrong kind, count or class range are refused in Swift, before any kernel runs.
    @Test(arguments: losses)
    func refusesBadTargets(loss: String) throws {
        let model = try Self.model(loss, n: 2, k: 3, dtype: .float64)
        let logits = [Double](repeating: 0.5, count: 6)
        let bad: [LossTarget]
        if loss == "mse" {
            bad = [.classes([0, 1]), .values([1, 2, 3])]
        } else {
            bad = [.classes([0, 3]), .classes([-1, 0]), .classes([0]), .values([0, 0, 0, 0, 0, 0])]
        }
        for target in bad {
            #expect(throws: Diagnostic.self, "loss \(loss) must refuse \(target)") {
                try model.loss.forward(logits: logits, target: target)
            }
            #expect(throws: Diagnostic.self, "loss \(loss) must refuse \(target)") {
                try model.loss.backward(logits: logits, target: target)
            }
        }
        let good: LossTarget = loss == "mse" ? .values([0, 0, 0, 0, 0, 0]) : .classes([0, 2])
        #expect(throws: Diagnostic.self, "loss \(loss) must refuse 5 logits") {
            try model.loss.forward(logits: [0, 0, 0, 0, 0], target: good)
        }
    }

    /// A label out of range that reaches the C kernels anyway (written straight into the target buffer) gives
    /// a NaN loss, never an out-of-bounds read.
    @Test(arguments: ["softmax", "svm"])
    func outOfRangeLabelInCGivesNaN(loss: String) throws {
        let model = try Self.model(loss, n: 2, k: 3, dtype: .float64)
        model.initialize(seed: 1)
        try model.stageInput([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        try model.stageTarget(.classes([0, 1]))
        #expect(model.stagedForward(mode: .train).isFinite)
        for label: Int32 in [3, -1, 1 << 30, Int32.min] {
            model.targetBuffer.assumingMemoryBound(to: Int32.self)[1] = label
            #expect(model.stagedForward(mode: .train).isNaN, "label \(label) for loss \(loss)")
            model.stagedBackward(mode: .train)
        }
    }
}
