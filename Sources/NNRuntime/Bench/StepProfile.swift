// StepProfile: training steps with every kernel call timed where the step makes it — in the step's order,
// on the caches the other kernels leave — to tell time inside the kernels from time between them.

import Foundation
import NNGen

/// Where the time of a training step goes, in seconds per step (each figure the median over the repeats).
public struct StepProfile: Sendable {
    /// Each layer's forward kernel inside the step.
    public var forwardSeconds: [Double]
    /// Each layer's backward kernel inside the step.
    public var backwardSeconds: [Double]
    /// The loss kernels: forward and backward.
    public var lossSeconds: Double
    /// The optimizer update of all parameters.
    public var updateSeconds: Double
    /// Every kernel call of the step together.
    public var kernelSeconds: Double
    /// The generated `train_step`, timed in the same repeats.
    public var stepSeconds: Double
    /// The step minus its kernel calls (median of the per-repeat differences; noise can make it negative):
    /// what the generated step and its caller do between the kernels.
    public var outsideSeconds: Double
}

extension CompiledModel {
    /// Where a layer reads `source`: the network input buffer, or the output of layer `p` in memory.
    func pointer(to source: TensorSource) -> UnsafeRawPointer {
        switch source {
        case .input: UnsafeRawPointer(inputBuffer)
        case .layer(let p): UnsafeRawPointer(memory + plan.layers[p].output * graph.dtype.byteSize)
        }
    }

    /// One training step made from Swift with the calls of the generated `train_step` — every layer's
    /// forward in order, the loss forward and backward, every layer's backward in reverse onto the same
    /// gradient slots (no gradient for the network input), the update — each call timed. A fused
    /// activation's time is its producer's: the producer's entries time the fused calls
    /// (`ActivationFusion`). Trains exactly as `stagedTrainStep` does (tests check the parameters bit for
    /// bit). Adds each call's seconds to
    /// `seconds`: `2·layers + 2` entries, forward and backward of layer i at 2i and 2i + 1, then the loss
    /// and the update.
    func profiledTrainStep(learningRate: Double, seconds: inout [Double]) throws -> Double {
        if isCompilingInBackground { installBackgroundBuild() }
        guard let update = functions.update else {
            throw Diagnostic(at: nil, "model '\(graph.modelName)' has no optimizer", hint: "add e.g. 'optimizer sgd lr=0.05' to the spec")
        }
        let size = graph.dtype.byteSize
        let layers = graph.layers
        step += 1
        let rng = stepSeed
        func slot(_ offset: Int) -> UnsafeMutableRawPointer { memory + offset * size }
        func gradient(_ source: TensorSource) -> UnsafeMutableRawPointer? {
            switch source {
            case .input: nil
            case .layer(let p): slot(plan.layers[p].gradient)
            }
        }
        var clock: UInt64 = 0  // set just before the first call
        func lap(_ entry: Int) {
            let now = DispatchTime.now().uptimeNanoseconds
            seconds[entry] += Double(now - clock) / 1e9
            clock = now
        }
        let inputs = layers.map { $0.sources.map(pointer(to:)) }
        let gradients = layers.map { $0.sources.map(gradient) }
        let loss = 2 * layers.count
        clock = DispatchTime.now().uptimeNanoseconds
        for index in layers.indices where plan.fusion(activation: index) == nil {
            functions.stepKernels(index).forward(memory, inputs[index], train: 1, rng: rng)
            lap(2 * index)
        }
        let output = UnsafeRawPointer(slot(plan.outputOffset))
        let value = functions.lossForward(memory, output, targetBuffer)
        functions.lossBackward(memory, output, targetBuffer, slot(plan.outputGradientOffset))
        lap(loss)
        for index in layers.indices.reversed() where plan.fusion(activation: index) == nil {
            // A fused producer reads its activation's output gradient.
            let dout = slot(plan.layers[plan.fusion(producer: index)?.activation ?? index].gradient)
            functions.stepKernels(index).backward(memory, inputs[index], dout: dout, dx: gradients[index], train: 1)
            lap(2 * index + 1)
        }
        update(memory, learningRate, step)
        lap(loss + 1)
        return value
    }
}

extension Benchmark {
    /// `repeats` rounds of `steps` plain training steps, each followed by a profiled one, so that both see
    /// the same machine (its speed drifts by tens of percent within minutes on a shared VM); continues
    /// training the model.
    static func stepProfile(_ model: CompiledModel, learningRate: Double, steps: Int, repeats: Int) throws -> StepProfile {
        let entries = 2 * model.graph.layers.count + 2
        var rounds: [[Double]] = []
        var stepTimes: [Double] = []
        for _ in 0..<repeats {
            var plain = 0.0
            var sums = [Double](repeating: 0, count: entries)
            for _ in 0..<steps {
                let begin = DispatchTime.now().uptimeNanoseconds
                _ = try model.stagedTrainStep(learningRate: learningRate)
                plain += seconds(since: begin)
                _ = try model.profiledTrainStep(learningRate: learningRate, seconds: &sums)
            }
            stepTimes.append(plain / Double(steps))
            rounds.append(sums.map { $0 / Double(steps) })
        }
        let layers = model.graph.layers.count
        func entry(_ e: Int) -> Double { median(rounds.map { $0[e] }) }
        return StepProfile(
            forwardSeconds: (0..<layers).map { entry(2 * $0) }, backwardSeconds: (0..<layers).map { entry(2 * $0 + 1) },
            lossSeconds: entry(2 * layers), updateSeconds: entry(2 * layers + 1),
            kernelSeconds: median(rounds.map { $0.reduce(0, +) }), stepSeconds: median(stepTimes),
            outsideSeconds: median(zip(stepTimes, rounds).map { $0 - $1.reduce(0, +) }))
    }
}
