// LayerKernels: one layer's generated forward and backward kernels, callable on their own.

import NNGen

/// One layer's kernels working on its model's memory (parameters, buffers, saved values, output slot).
public struct LayerKernels {
    let model: Model
    let index: Int

    public var layer: ShapedLayer { model.graph.layers[index] }

    /// Runs the layer's forward kernel on `x` (`layer.input.count` values); returns its output.
    public func forward(_ x: [Double], mode: Mode = .train, rng: UInt64 = 0) throws -> [Double] {
        let xPointer = try stage(x, slot: 0, expected: layer.input, what: "input")
        model.functions.layerForward[index](model.memory, xPointer, mode.flag, rng)
        return model.layerOutput(index)
    }

    /// Runs the layer's backward kernel after `forward` on the same `x` and mode. Writes the layer's
    /// parameter gradients (read them with `Model.gradient(_:)`) and returns dx.
    public func backward(_ x: [Double], outputGradient dout: [Double], mode: Mode = .train) throws -> [Double] {
        let xPointer = try stage(x, slot: 0, expected: layer.input, what: "input")
        let doutPointer = try stage(dout, slot: 1, expected: layer.output, what: "output gradient")
        let dxPointer = model.scratchSlot(2)
        model.functions.layerBackward[index](model.memory, xPointer, doutPointer, dxPointer, mode.flag)
        return model.load(from: dxPointer, offset: 0, count: layer.input.count)
    }

    func stage(_ values: [Double], slot: Int, expected: Shape, what: String) throws -> UnsafeMutableRawPointer {
        guard values.count == expected.count else {
            throw Diagnostic("layer '\(layer.name)' \(what) must be \(expected) = \(expected.count) values, got \(values.count)")
        }
        let pointer = model.scratchSlot(slot)
        model.store(values, to: pointer, offset: 0)
        return pointer
    }
}
