// CompiledModel runs: staging a batch, and the whole-network forward, backward and training step.

import NNGen

extension CompiledModel {
    // MARK: Staging

    /// Copies one input batch into `inputBuffer`, checking its size.
    public func stageInput(_ values: [Double]) throws {
        guard values.count == graph.inputShape.count else {
            throw Diagnostic(
                "the input has \(values.count) values; '\(graph.inputName)' is \(graph.inputShape) = \(graph.inputShape.count) values")
        }
        store(values, to: inputBuffer, offset: 0)
    }

    /// Copies one batch of targets into `targetBuffer`, checking its size, kind and class range.
    public func stageTarget(_ target: LossTarget) throws {
        switch (target, graph.loss.definition.target) {
        case (.classes(let labels), .classIndices):
            guard labels.count == graph.batch else {
                throw Diagnostic("got \(labels.count) labels for a batch of \(graph.batch)")
            }
            let classes = graph.outputShape[1]
            if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
                throw Diagnostic("label \(labels[bad]) at index \(bad) is not a class id in 0..<\(classes)")
            }
            let p = targetBuffer.assumingMemoryBound(to: Int32.self)
            for (i, label) in labels.enumerated() { p[i] = label }
        case (.values(let values), .dense):
            guard values.count == graph.outputShape.count else {
                throw Diagnostic(
                    "got \(values.count) target values; the output is \(graph.outputShape) = \(graph.outputShape.count) values")
            }
            store(values, to: targetBuffer, offset: 0)
        case (.values, .classIndices):
            throw Diagnostic("loss \(graph.loss.definition.keyword) takes class ids as targets, got real values")
        case (.classes, .dense):
            throw Diagnostic("loss \(graph.loss.definition.keyword) takes real-valued targets \(graph.outputShape), got class ids")
        }
    }

    // MARK: Whole network

    /// Forward pass on the staged input; returns the mean loss against the staged target (or 0 without one).
    public func stagedForward(mode: RunMode, withTarget: Bool = true, rng: UInt64 = 0) -> Double {
        if isCompilingInBackground { installBackgroundBuild() }
        return functions.forward(memory, inputBuffer, withTarget ? UnsafeRawPointer(targetBuffer) : nil, mode.flag, rng)
    }

    /// Backward pass after `stagedForward` in the same mode; fills every parameter gradient and, when given,
    /// the input gradient (`graph.inputShape.count` elements of the model's dtype).
    public func stagedBackward(mode: RunMode, inputGradient: UnsafeMutableRawPointer? = nil) {
        functions.backward(memory, inputBuffer, targetBuffer, inputGradient, mode.flag)
    }

    /// One fused training step (forward, backward, update) on the staged batch. Returns the loss.
    public func stagedTrainStep(learningRate: Double) throws -> Double {
        if isCompilingInBackground { installBackgroundBuild() }
        guard let trainStep = functions.trainStep else {
            throw Diagnostic(at: nil, "model '\(graph.modelName)' has no optimizer", hint: "add e.g. 'optimizer sgd lr=0.05' to the spec")
        }
        step += 1
        return trainStep(memory, inputBuffer, targetBuffer, learningRate, step, stepSeed)
    }

    /// The random seed of the current step, mixed from `rngSeed` and `step`.
    var stepSeed: UInt64 {
        var mixer = SplitMix64(seed: rngSeed ^ (UInt64(bitPattern: step) &* 0x9E37_79B9_7F4A_7C15))
        return mixer.next()
    }

    /// Forward pass. Returns the mean loss, or 0 when `target` is nil. The mode is always explicit: `.train`
    /// moves batchnorm's running statistics and draws dropout masks, `.test` uses the running statistics.
    @discardableResult
    public func forward(input: [Double], target: LossTarget? = nil, mode: RunMode) throws -> Double {
        try stageInput(input)
        if let target { try stageTarget(target) }
        return stagedForward(mode: mode, withTarget: target != nil, rng: stepSeed)
    }

    /// Backward pass after `forward` with a target, in the same mode. Fills the parameter gradients (read
    /// them with `gradient(_:)`) and returns the gradient of the loss with respect to the input.
    @discardableResult
    public func backward(mode: RunMode) -> [Double] {
        let count = graph.inputShape.count
        let gradient = UnsafeMutableRawPointer.allocate(byteCount: count * graph.dtype.byteSize, alignment: 64)
        defer { gradient.deallocate() }
        stagedBackward(mode: mode, inputGradient: gradient)
        return load(from: gradient, offset: 0, count: count)
    }

    /// One training step: forward (train mode), backward and the optimizer update. `learningRate` defaults to
    /// the spec's `lr`. Returns the loss before the update.
    @discardableResult
    public func trainStep(input: [Double], target: LossTarget, learningRate: Double? = nil) throws -> Double {
        try stageInput(input)
        try stageTarget(target)
        return try stagedTrainStep(learningRate: learningRate ?? graph.optimizer?.instance.learningRate ?? 0)
    }

    /// A single layer's kernels, by name.
    public func layer(_ name: String) throws -> LayerKernels {
        guard let index = graph.layers.firstIndex(where: { $0.name == name }) else {
            throw Diagnostic(
                "model '\(graph.modelName)' has no layer '\(name)'",
                hint: "its layers are: " + graph.layers.map(\.name).joined(separator: ", "))
        }
        return LayerKernels(model: self, index: index)
    }
}
