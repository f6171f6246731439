// CompiledModel values: initialization, and reading and writing parameters, buffers, gradients and outputs by name.

import NNGen

extension CompiledModel {

    /// Fills every parameter and buffer from its initializer (He weights, zero biases, γ = 1, β = 0,
    /// running mean 0, running variance 1) and clears gradients, optimizer state and the step count.
    public func initialize(seed: UInt64) {
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: plan.total * graph.dtype.byteSize)
        for tensor in plan.tensors {
            store(tensor.spec.initializer.values(for: tensor.spec, name: tensor.name, seed: seed), at: tensor.offset)
        }
        step = 0
        rngSeed = seed
    }

    /// Names of every parameter and buffer, in memory order.
    public var tensorNames: [String] { plan.tensors.map(\.name) }
    /// Names of the trainable parameters.
    public var parameterNames: [String] { plan.parameterTensors.map(\.name) }

    func planned(_ name: String) throws -> PlannedTensor {
        guard let tensor = plan.tensor(named: name) else {
            throw Diagnostic(
                "model '\(graph.modelName)' has no tensor '\(name)'",
                hint: "its tensors are: " + tensorNames.joined(separator: ", "))
        }
        return tensor
    }

    /// The shape of a parameter or buffer.
    public func shape(of name: String) throws -> TensorShape { try planned(name).shape }

    /// The values of a parameter or buffer.
    public func tensor(_ name: String) throws -> [Double] {
        let tensor = try planned(name)
        return load(at: tensor.offset, count: tensor.count)
    }

    /// Replaces the values of a parameter or buffer.
    public func setTensor(_ name: String, _ values: [Double]) throws {
        let tensor = try planned(name)
        guard values.count == tensor.count else {
            throw Diagnostic("tensor '\(name)' has shape \(tensor.shape) (\(tensor.count) values), got \(values.count) values")
        }
        store(values, at: tensor.offset)
    }

    /// The gradient of the loss with respect to a parameter, as left by the last `backward`.
    public func gradient(_ name: String) throws -> [Double] {
        let tensor = try planned(name)
        guard tensor.role == .parameter else {
            throw Diagnostic("'\(name)' is a buffer, not a trainable parameter; it has no gradient")
        }
        return load(at: plan.gradientOffset(of: tensor), count: tensor.count)
    }

    /// The network output of the last forward pass (the loss input), row-major.
    public var output: [Double] { load(at: plan.outputOffset, count: graph.outputShape.count) }

    /// The output of one layer from the last forward pass. A layer whose relu the network applies in its
    /// own loops (`plan.fusion(producer:)`: a batchnorm or an add before a relu) shares the relu's block
    /// and does not store its own output in a whole-network forward, so this reads the relu's output then
    /// (the layer's own kernel, `LayerKernels.forward`, stores its output there).
    public func layerOutput(_ index: Int) -> [Double] {
        load(at: plan.layers[index].output, count: graph.layers[index].output.count)
    }

    func load(at offset: Int, count: Int) -> [Double] {
        load(from: memory, offset: offset, count: count)
    }

    func store(_ values: [Double], at offset: Int) {
        store(values, to: memory, offset: offset)
    }

    func load(from base: UnsafeMutableRawPointer, offset: Int, count: Int) -> [Double] {
        switch graph.dtype {
        case .float32:
            let p = base.assumingMemoryBound(to: Float.self) + offset
            return (0..<count).map { Double(p[$0]) }
        case .float64:
            let p = base.assumingMemoryBound(to: Double.self) + offset
            return Array(UnsafeBufferPointer(start: p, count: count))
        }
    }

    func store(_ values: [Double], to base: UnsafeMutableRawPointer, offset: Int) {
        switch graph.dtype {
        case .float32:
            let p = base.assumingMemoryBound(to: Float.self) + offset
            for (i, v) in values.enumerated() { p[i] = Float(v) }
        case .float64:
            let p = base.assumingMemoryBound(to: Double.self) + offset
            for (i, v) in values.enumerated() { p[i] = v }
        }
    }
}
