// Whole networks ending in the svm and mse losses and in softmax with label smoothing: generated
// forward/backward/train step against the reference network and numerical gradients (the plain softmax networks
// are in NetworkTests).

import NNGen
import NNRuntime
import Testing

/// A network over the spine layers with a given loss.
struct LossNetworkCase: CustomStringConvertible, Sendable {
    var loss: String
    var input: [Int]
    var body: String
    var description: String { "\(input) " + body.split(separator: "\n").joined(separator: " | ") + " | loss \(loss)" }

    func spec(_ dtype: DType) -> String {
        "input x [\(input.map(String.init).joined(separator: ", "))]\ndtype \(dtype.rawValue)\n\(body)\nloss \(loss)\n"
            + "optimizer sgd lr=0.1 momentum=0.9 weight_decay=0.01\n"
    }
}

@Suite struct LossNetworkTests {
    static let cases: [LossNetworkCase] = [
        LossNetworkCase(loss: "svm", input: [2, 3], body: "affine fc1 out=2"),
        LossNetworkCase(loss: "svm", input: [3, 13], body: "affine fc1 out=7\nrelu\nbatchnorm bn1\naffine fc2 out=4"),
        LossNetworkCase(loss: "svm", input: [4, 2, 3, 3], body: "batchnorm bn0\nrelu\naffine fc1 out=6\nrelu\naffine fc2 out=10"),
        LossNetworkCase(loss: "mse", input: [2, 3], body: "affine fc1 out=2"),
        LossNetworkCase(loss: "mse", input: [3, 13], body: "affine fc1 out=7\nrelu\nbatchnorm bn1\naffine fc2 out=4"),
        LossNetworkCase(loss: "mse", input: [4, 2, 3, 3], body: "batchnorm bn0\nrelu\naffine fc1 out=5"),
        // An image-shaped output: mse compares all N·C·H·W elements.
        LossNetworkCase(loss: "mse", input: [3, 2, 2, 2], body: "batchnorm bn0\nrelu"),
        LossNetworkCase(loss: "softmax smoothing=0.2", input: [3, 13], body: "affine fc1 out=7\nrelu\nbatchnorm bn1\naffine fc2 out=4"),
        LossNetworkCase(loss: "softmax smoothing=0.1", input: [4, 2, 3, 3], body: "batchnorm bn0\nrelu\naffine fc1 out=10"),
    ]

    struct Prepared {
        var model: CompiledModel
        var input: [Double]
        var labels: [Int]
        /// The mse targets (output-shaped); empty for svm and softmax.
        var values: [Double]
        var tensors: [String: [Double]]
        var target: LossTarget { model.graph.loss.definition.target == .dense ? .values(values) : .classes(labels.map(Int32.init)) }
    }

    static func prepare(_ c: LossNetworkCase, dtype: DType, seed: UInt64 = 3) throws -> Prepared {
        let model = try CompiledModel(graph: try ShapeInference.load(c.spec(dtype), path: "net.spec"), backend: testBackend)
        model.initialize(seed: seed)
        // Move every tensor off its initial value so no gradient is trivially zero.
        for (i, name) in model.tensorNames.enumerated() {
            let current = try model.tensor(name)
            let noise = RefTensor.random(shape: [current.count], seed: seed &+ UInt64(i), scale: 0.3).data
            try model.setTensor(name, zip(current, noise).map { name.hasSuffix("_var") ? $0 + abs($1) : $0 + $1 })
        }
        func rounded(_ values: [Double]) -> [Double] { dtype == .float64 ? values : values.map { Double(Float($0)) } }
        let input = rounded(RefTensor.random(shape: c.input, seed: seed &+ 99, scale: 2).data)
        let output = model.graph.outputShape
        let classes = model.graph.loss.definition.target == .classIndices
        let labels = classes ? Reference.randomLabels(count: output.batch, classes: output[1], seed: seed &+ 7) : []
        let values = !classes ? rounded(RefTensor.random(shape: output.dims, seed: seed &+ 8, scale: 1).data) : []
        var tensors: [String: [Double]] = [:]
        for name in model.tensorNames { tensors[name] = try model.tensor(name) }
        return Prepared(model: model, input: input, labels: labels, values: values, tensors: tensors)
    }

    static func reference(_ p: Prepared, tensors: [String: [Double]]? = nil, mode: RunMode) -> ReferencePass {
        ReferenceNetwork.run(
            p.model.graph, tensors: tensors ?? p.tensors, input: p.input, labels: p.labels, mode: mode,
            targetValues: p.values.isEmpty ? nil : p.values)
    }

    @Test(arguments: cases)
    func forwardAndBackwardMatchReference(c: LossNetworkCase) throws {
        for dtype in [DType.float64, .float32] {
            for mode in RunMode.allCases {
                let p = try Self.prepare(c, dtype: dtype)
                let expected = Self.reference(p, mode: mode)
                let tolerance = Tolerance.of(dtype)
                let context = "\(c), \(dtype.rawValue), \(mode.rawValue)"
                let loss = try p.model.forward(input: p.input, target: p.target, mode: mode)
                expectClose([loss], [expected.loss], tolerance, "loss of \(context)")
                expectClose(p.model.output, expected.output, tolerance, "output of \(context)")
                let dx = p.model.backward(mode: mode)
                let floor = gradientFloor([expected.inputGradient] + Array(expected.gradients.values))
                expectClose(dx, expected.inputGradient, tolerance, "input gradient of \(context)", floor: floor)
                for name in p.model.parameterNames {
                    expectClose(
                        try p.model.gradient(name), expected.gradients[name] ?? [], tolerance, "gradient of \(name), \(context)",
                        floor: floor)
                }
            }
        }
    }

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(c: LossNetworkCase) throws {
        for mode in RunMode.allCases {
            let p = try Self.prepare(c, dtype: .float64)
            let model = p.model
            if c.loss == "svm" {
                // Centered differences across a hinge kink measure nothing; these cases sit well away from one.
                let scores = Self.reference(p, mode: mode).output
                let k = model.graph.outputShape[1]
                var closest = Double.infinity
                for (n, label) in p.labels.enumerated() {
                    for j in 0..<k where j != label {
                        let margin: Double = scores[n * k + j] - scores[n * k + label] + 1
                        closest = min(closest, abs(margin))
                    }
                }
                try #require(closest > 1e-4, "\(c): a margin is \(closest) from its kink; pick another seed")
            }
            let buffers = model.plan.bufferTensors.map(\.name)
            func restoreBuffers() throws { for name in buffers { try model.setTensor(name, p.tensors[name]!) } }
            func loss(_ input: [Double]) -> Double {
                try? restoreBuffers()
                return (try? model.forward(input: input, target: p.target, mode: mode)) ?? .nan
            }
            _ = loss(p.input)
            let dx = model.backward(mode: mode)
            var analytic: [String: [Double]] = [:]
            for name in model.parameterNames { analytic[name] = try model.gradient(name) }
            let context = "\(c), \(mode.rawValue)"
            let floor = gradientFloor([dx] + Array(analytic.values))
            expectClose(
                dx, Reference.numericalGradient(of: loss, at: p.input), Tolerance.gradientCheck, "input gradient check, \(context)",
                floor: floor)
            for name in model.parameterNames {
                let original = p.tensors[name]!
                let numeric = Reference.numericalGradient(
                    of: { values in
                        try? model.setTensor(name, values)
                        return loss(p.input)
                    }, at: original)
                try model.setTensor(name, original)
                expectClose(analytic[name] ?? [], numeric, Tolerance.gradientCheck, "gradient check of \(name), \(context)", floor: floor)
            }
        }
    }

    /// Five fused training steps against reference passes plus the reference SGD update.
    @Test(arguments: cases)
    func trainStepsMatchReference(c: LossNetworkCase) throws {
        let p = try Self.prepare(c, dtype: .float64)
        var tensors = p.tensors
        var velocity: [String: Reference.SGDState] = [:]
        for name in p.model.parameterNames { velocity[name] = Reference.SGDState(count: tensors[name]!.count) }
        for step in 1...5 {
            let lr = 0.1 / Double(step)
            let loss = try p.model.trainStep(input: p.input, target: p.target, learningRate: lr)
            let expected = Self.reference(p, tensors: tensors, mode: .train)
            expectClose([loss], [expected.loss], Tolerance.float64, "loss at step \(step) of \(c)")
            for (name, values) in expected.buffers { tensors[name] = values }
            for name in p.model.parameterNames {
                let updated = Reference.sgdStep(
                    params: tensors[name]!, grads: expected.gradients[name]!, state: velocity[name]!,
                    lr: lr, momentum: 0.9, weightDecay: 0.01)
                tensors[name] = updated.params
                velocity[name] = updated.state
            }
        }
        for name in p.model.tensorNames {
            expectClose(try p.model.tensor(name), tensors[name]!, Tolerance.float64, "\(name) after 5 steps of \(c)")
        }
    }
}
