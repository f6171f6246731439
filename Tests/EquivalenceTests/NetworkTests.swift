// Whole networks: generated forward/backward/train step against the reference network and numerical gradients.

import NNGen
import NNRuntime
import Testing

/// A random network spec over the spine layers.
struct NetworkCase: CustomStringConvertible, Sendable {
    var input: [Int]
    var body: String
    var description: String { "\(input) " + body.split(separator: "\n").joined(separator: " | ") }

    func spec(_ dtype: DType) -> String {
        "input x [\(input.map(String.init).joined(separator: ", "))]\ndtype \(dtype.rawValue)\n\(body)\nloss softmax\noptimizer sgd lr=0.1 momentum=0.9 weight_decay=0.01\n"
    }
}

@Suite struct NetworkTests {
    static let cases: [NetworkCase] = [
        NetworkCase(input: [2, 3], body: "affine fc1 out=2"),
        NetworkCase(input: [1, 7], body: "affine fc1 out=5\nrelu\naffine fc2 out=3"),
        NetworkCase(input: [3, 13], body: "affine fc1 out=7\nbatchnorm bn1\nrelu\naffine fc2 out=4"),
        NetworkCase(
            input: [4, 2, 3, 3], body: "batchnorm bn0\nrelu\naffine fc1 out=6\nbatchnorm bn1 momentum=0.5\nrelu\naffine fc2 out=3"),
        NetworkCase(input: [7, 1, 1, 5], body: "affine fc1 out=13\nrelu\nbatchnorm bn1 eps=1e-3\naffine fc2 out=2"),
        NetworkCase(input: [2, 1], body: "affine fc1 out=3\nbatchnorm\nrelu\naffine out=3\nrelu\naffine out=2"),
        NetworkCase(
            input: [2, 1, 5, 5], body: "conv c1 filters=3 size=3 pad=1\nbatchnorm bn1\nrelu\nmaxpool p1 size=3 stride=2\naffine fc1 out=3"),
        NetworkCase(
            input: [3, 2, 7, 7],
            body: "conv c1 filters=4 size=3 stride=2\nrelu\nconv c2 filters=3 size=2x3 pad=1\nmaxpool p1 size=2x3\naffine fc1 out=4"),
        NetworkCase(
            input: [2, 3, 6, 6], body: "maxpool p1 size=2\nconv c1 filters=2 size=1 init=xavier\nrelu\nbatchnorm bn1\naffine fc1 out=2"),
        NetworkCase(input: [3, 7], body: "affine fc1 out=5\nlayernorm ln1\ntanh\naffine fc2 out=3"),
        NetworkCase(input: [2, 4, 3, 3], body: "groupnorm gn1 groups=2\nsigmoid\naffine fc1 out=3"),
        NetworkCase(input: [3, 6, 1, 2], body: "groupnorm gn1 groups=3\ntanh\ngroupnorm gn2 groups=1 eps=1e-3\naffine out=2"),
        NetworkCase(
            input: [2, 2, 2, 3],
            body: "layernorm ln0\ndropout drop1 keep=1\naffine fc1 out=4\nsigmoid\nlayernorm ln1 eps=1e-3\naffine fc2 out=3"),
    ]

    struct Prepared {
        var model: CompiledModel
        var input: [Double]
        var labels: [Int32]
        var tensors: [String: [Double]]
    }

    static func prepare(_ c: NetworkCase, dtype: DType, seed: UInt64 = 3) throws -> Prepared {
        let model = try CompiledModel(graph: try ShapeInference.load(c.spec(dtype), path: "net.spec"), backend: testBackend)
        model.initialize(seed: seed)
        // Move every tensor off its initial value so no gradient is trivially zero.
        for (i, name) in model.tensorNames.enumerated() {
            let current = try model.tensor(name)
            let noise = RefTensor.random(shape: [current.count], seed: seed &+ UInt64(i), scale: 0.3).data
            try model.setTensor(name, zip(current, noise).map { name.hasSuffix("_var") ? $0 + abs($1) : $0 + $1 })
        }
        let input = RefTensor.random(shape: c.input, seed: seed &+ 99, scale: 2).data
        let classes = model.graph.outputShape[1]
        let labels = (0..<model.graph.batch).map { Int32(($0 * 7 + 3) % classes) }
        var tensors: [String: [Double]] = [:]
        for name in model.tensorNames { tensors[name] = try model.tensor(name) }
        let rounded = dtype == .float64 ? input : input.map { Double(Float($0)) }
        return Prepared(model: model, input: rounded, labels: labels, tensors: tensors)
    }

    @Test(arguments: allCases)
    func forwardAndBackwardMatchReference(c: NetworkCase) throws {
        for dtype in [DType.float64, .float32] {
            for mode in RunMode.allCases {
                let p = try Self.prepare(c, dtype: dtype)
                let expected = ReferenceNetwork.run(
                    p.model.graph, tensors: p.tensors, input: p.input, labels: p.labels.map(Int.init), mode: mode)
                let tolerance = Tolerance.of(dtype)
                let context = "\(c), \(dtype.rawValue), \(mode.rawValue)"
                let loss = try p.model.forward(input: p.input, target: .classes(p.labels), mode: mode)
                expectClose([loss], [expected.loss], tolerance, "loss of \(context)")
                expectClose(p.model.output, expected.output, tolerance, "output of \(context)")
                for (name, values) in expected.buffers {
                    expectClose(try p.model.tensor(name), values, tolerance, "\(name) of \(context)")
                }
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

    @Test(arguments: allCases)
    func gradientsMatchFiniteDifferences(c: NetworkCase) throws {
        for mode in RunMode.allCases {
            let p = try Self.prepare(c, dtype: .float64)
            let model = p.model
            let target = LossTarget.classes(p.labels)
            // In train mode each forward also moves the running statistics; they do not affect train-mode
            // outputs, and test mode reads them, so restore them for every evaluation.
            let buffers = model.plan.bufferTensors.map(\.name)
            func restoreBuffers() throws { for name in buffers { try model.setTensor(name, p.tensors[name]!) } }
            func loss(_ input: [Double]) -> Double {
                try? restoreBuffers()
                return (try? model.forward(input: input, target: target, mode: mode)) ?? .nan
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
    @Test(arguments: allCases)
    func trainStepsMatchReference(c: NetworkCase) throws {
        let p = try Self.prepare(c, dtype: .float64)
        let graph = p.model.graph
        var tensors = p.tensors
        var velocity: [String: Reference.SGDState] = [:]
        for name in p.model.parameterNames {
            velocity[name] = Reference.SGDState(velocity: [Double](repeating: 0, count: tensors[name]!.count))
        }
        for step in 1...5 {
            let lr = 0.1 / Double(step)
            let loss = try p.model.trainStep(input: p.input, target: .classes(p.labels), learningRate: lr)
            let expected = ReferenceNetwork.run(graph, tensors: tensors, input: p.input, labels: p.labels.map(Int.init), mode: .train)
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
        #expect(p.model.step == 5)
    }
}
