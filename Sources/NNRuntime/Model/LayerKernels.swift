// LayerKernels: one layer's generated forward and backward kernels, callable on their own.

import NNGen

/// One layer's kernels working on its model's memory (parameters, buffers, saved values, output slot).
///
/// Inputs and gradients are passed as arrays of values, one per input of the layer (`from=` order); each
/// call stages them in buffers of its own, so the layer runs on exactly the values given.
public struct LayerKernels {
    let model: CompiledModel
    let index: Int

    public var layer: ShapedLayer { model.graph.layers[index] }

    /// Runs the layer's forward kernel on `x` (`layer.input.count` values); returns its output.
    public func forward(_ x: [Double], mode: RunMode, rng: UInt64 = 0) throws -> [Double] {
        try forward(inputs: [x], mode: mode, rng: rng)
    }

    /// Runs the layer's forward kernel on its inputs (one array per input); returns its output.
    public func forward(inputs: [[Double]], mode: RunMode, rng: UInt64 = 0) throws -> [Double] {
        let staged = try stage(inputs)
        defer { for pointer in staged { pointer.deallocate() } }
        model.functions.layers[index].forward(model.memory, staged.map { UnsafeRawPointer($0) }, train: mode.flag, rng: rng)
        return model.layerOutput(index)
    }

    /// Runs the layer's backward kernel after `forward` on the same `x` and mode. Writes the layer's
    /// parameter gradients (read them with `CompiledModel.gradient(_:)`) and returns dx.
    public func backward(_ x: [Double], outputGradient dout: [Double], mode: RunMode) throws -> [Double] {
        try backward(inputs: [x], outputGradient: dout, mode: mode)[0]
    }

    /// Runs the layer's backward kernel after `forward` on the same inputs and mode; returns the gradient of
    /// each input. Where the layer adds to an input's gradient (that input has another reader in the model),
    /// the gradient starts from zero here, so the result is this layer's own contribution.
    public func backward(inputs: [[Double]], outputGradient dout: [Double], mode: RunMode) throws -> [[Double]] {
        let staged = try stage(inputs)
        defer { for pointer in staged { pointer.deallocate() } }
        guard dout.count == layer.output.count else {
            throw Diagnostic(
                "layer '\(layer.name)' output gradient must be \(layer.output) = \(layer.output.count) values, got \(dout.count)")
        }
        let doutPointer = buffer(dout)
        defer { doutPointer.deallocate() }
        let gradients = layer.inputs.map { buffer([Double](repeating: 0, count: $0.count)) }
        defer { for pointer in gradients { pointer.deallocate() } }
        model.functions.layers[index].backward(
            model.memory, staged.map { UnsafeRawPointer($0) }, dout: doutPointer, dx: gradients.map { $0 }, train: mode.flag)
        return zip(gradients, layer.inputs).map { model.load(from: $0, offset: 0, count: $1.count) }
    }

    /// Each input in a buffer of its own, checked against the layer's input shapes.
    func stage(_ inputs: [[Double]]) throws -> [UnsafeMutableRawPointer] {
        guard inputs.count == layer.inputs.count else {
            throw Diagnostic("layer '\(layer.name)' reads \(layer.inputs.count) input(s), got \(inputs.count)")
        }
        for (k, (values, shape)) in zip(inputs, layer.inputs).enumerated() where values.count != shape.count {
            let which = layer.inputs.count == 1 ? "input" : "input \(k)"
            throw Diagnostic("layer '\(layer.name)' \(which) must be \(shape) = \(shape.count) values, got \(values.count)")
        }
        return inputs.map(buffer)
    }

    /// A 64-byte aligned buffer holding `values` in the model's dtype; the caller deallocates it.
    func buffer(_ values: [Double]) -> UnsafeMutableRawPointer {
        let pointer = CompiledModel.allocate(bytes: values.count * model.graph.dtype.byteSize)
        model.store(values, to: pointer, offset: 0)
        return pointer
    }
}
