// LossKernels: the generated loss forward and backward of a model, callable on their own.

import NNGen

/// The model's loss kernels (`<model>_loss_forward` / `_backward`), fed with logits and targets from Swift.
///
/// Logits are the network output, `graph.outputShape` row-major; targets are checked by
/// `CompiledModel.stageTarget` (count, kind, class range) before any kernel runs. Uses the model's single-layer
/// scratch and its target buffer, so it must not run while the model trains.
public struct LossKernels {
    let model: CompiledModel

    /// The loss statement and the shape it reads.
    public var loss: ShapedLoss { model.graph.loss }

    /// The mean loss of `logits` against `target`.
    public func forward(logits: [Double], target: LossTarget) throws -> Double {
        let logitsPointer = try stage(logits, target: target)
        return model.functions.lossForward(model.memory, logitsPointer, model.targetBuffer)
    }

    /// dloss/dlogits at `logits`. Runs the loss forward first (a loss's backward may read what its forward
    /// saved, e.g. softmax probabilities), so it needs no earlier `forward` call.
    public func backward(logits: [Double], target: LossTarget) throws -> [Double] {
        let logitsPointer = try stage(logits, target: target)
        let dlogitsPointer = model.scratchSlot(1)
        _ = model.functions.lossForward(model.memory, logitsPointer, model.targetBuffer)
        model.functions.lossBackward(model.memory, logitsPointer, model.targetBuffer, dlogitsPointer)
        return model.load(from: dlogitsPointer, offset: 0, count: loss.input.count)
    }

    /// Copies the logits into scratch slot 0 and the target into the target buffer, checking both.
    func stage(_ logits: [Double], target: LossTarget) throws -> UnsafeMutableRawPointer {
        guard logits.count == loss.input.count else {
            throw Diagnostic(
                "loss \(loss.definition.keyword) logits must be \(loss.input) = \(loss.input.count) values, got \(logits.count)")
        }
        try model.stageTarget(target)
        model.store(logits, to: model.scratchSlot(0), offset: 0)
        return model.scratchSlot(0)
    }
}

extension CompiledModel {
    /// The loss kernels, callable on their own.
    public var loss: LossKernels { LossKernels(model: self) }
}
