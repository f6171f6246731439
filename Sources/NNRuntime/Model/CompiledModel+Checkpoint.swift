// Checkpoints: a model's parameters, buffers and optimizer state plus where training stands (epoch, step,
// RNG seeds, history), in one safetensors file written atomically.

import NNGen

/// Where a training run stands: what a checkpoint holds besides the tensors.
///
/// The random numbers of a run are functions of two seeds, so the seeds are the whole RNG state: the
/// shuffled order of epoch `e` comes from (`seed`, `e`), and the per-step seed of stochastic layers from
/// (`rngSeed`, step) — see `CompiledModel.stepSeed`.
public struct TrainingState: Sendable, Equatable {
    /// Epochs finished.
    public var epoch: Int
    /// Optimizer steps taken.
    public var step: Int64
    /// The run's seed: parameter initialization and the shuffled order of every epoch.
    public var seed: UInt64
    /// The model's `rngSeed`, mixed with the step count into the seed of each step.
    public var rngSeed: UInt64
    /// The epochs the run was started for (the cosine schedule spans them).
    public var plannedEpochs: Int
    /// What the run measured so far.
    public var history: TrainingHistory
    /// The model the checkpoint was trained with, as `ShapedGraph.identityLines` (nil in checkpoints
    /// written before nngen recorded it).
    public var graphIdentity: [String]?
    /// Processes of the data-parallel run that trained it (1: a single process); a resume needs as many.
    public var ranks = 1

    public init(epoch: Int, step: Int64, seed: UInt64, rngSeed: UInt64, plannedEpochs: Int, history: TrainingHistory) {
        self.epoch = epoch
        self.step = step
        self.seed = seed
        self.rngSeed = rngSeed
        self.plannedEpochs = plannedEpochs
        self.history = history
    }
}

extension CompiledModel {
    /// The value of the checkpoint metadata key `format`.
    static let checkpointFormat = "nngen-checkpoint-1"
    /// Tensor names of optimizer state start with this, then the slot and the parameter: `optimizer.0.fc1.weight`.
    public static let optimizerPrefix = "optimizer."

    /// The optimizer's state (momentum velocity, Adam moments), one tensor per slot and parameter, named
    /// `optimizer.SLOT.PARAMETER` (`optimizer.0.fc1.weight`).
    public func exportOptimizerState() -> [(name: String, tensor: HostTensor)] {
        (0..<plan.stateSlots).flatMap { slot in
            plan.parameterTensors.map { planned in
                (
                    Self.optimizerPrefix + "\(slot).\(planned.name)",
                    HostTensor(
                        shape: planned.shape.dims, doubles: load(at: plan.stateOffset(of: planned, slot: slot), count: planned.count),
                        as: graph.dtype.elementType)
                )
            }
        }
    }

    /// Writes parameters, buffers, optimizer state and `state` to `path` atomically (a temporary file
    /// renamed over `path`: readers see the previous checkpoint or this one, never half of one).
    public func writeCheckpoint(to path: String, state: TrainingState) throws {
        let metadata: [String: String] = [
            "format": Self.checkpointFormat,
            "model": graph.modelName,
            "dtype": graph.dtype.rawValue,
            "input": graph.inputShape.description,
            "optimizer": graph.optimizer?.definition.keyword ?? "none",
            "epoch": String(state.epoch),
            "step": String(state.step),
            "seed": String(state.seed),
            "rng_seed": String(state.rngSeed),
            "epochs": String(state.plannedEpochs),
            "ranks": String(state.ranks),
            "history": try state.history.json(),
            // How raw bytes became inputs, so a reader of the file (or the generated library) can do the same.
            "preprocess": graph.bytePreprocessing.specText,
            // What was trained, statement by statement, so a resume onto a changed spec can say what changed.
            "graph": graph.identityLines.joined(separator: "\n"),
        ]
        try Safetensors.write(exportTensors() + exportOptimizerState(), metadata: metadata, to: path)
    }

    /// The largest tensor file this model reads: every parameter, buffer and optimizer state array as
    /// float64, plus a header of at most `Safetensors.maxHeaderLength` bytes.
    public var tensorFileLimit: Int { Self.tensorFileLimit(for: plan) }

    /// The largest tensor file a model of this plan reads (see `tensorFileLimit`).
    public static func tensorFileLimit(for plan: MemoryPlan) -> Int {
        (plan.parameters.count * (1 + max(plan.stateSlots, 2)) + plan.buffers.count) * 8 + 8 + Safetensors.maxHeaderLength
    }

    /// Restores everything `writeCheckpoint` wrote: parameters, buffers, optimizer state, step count and
    /// RNG seed. Throws a `Diagnostic` naming the file when it is not a training checkpoint of this model.
    public func restoreCheckpoint(from path: String) throws -> TrainingState {
        let (tensors, metadata) = try Safetensors.read(path: path, limit: tensorFileLimit)
        return try restoreCheckpoint(tensors: tensors, metadata: metadata, origin: path)
    }

    /// `restoreCheckpoint(from:)` of a checkpoint already decoded; `origin` names it in errors.
    public func restoreCheckpoint(
        tensors: [(name: String, tensor: HostTensor)], metadata: [String: String], origin path: String
    ) throws -> TrainingState {
        guard metadata["format"] == Self.checkpointFormat else {
            throw Diagnostic(
                file: path, "not a training checkpoint: it has no training state (epoch, step, RNG seeds, optimizer state)",
                hint:
                    "resume from a file written by 'nngen train --save'; parameter files (e.g. from nngen init) work with 'nngen eval --params'"
            )
        }
        func field(_ key: String) throws -> String {
            guard let value = metadata[key] else {
                throw Diagnostic(
                    file: path, "the checkpoint metadata has no '\(key)'", hint: "the file is damaged; resume from another checkpoint")
            }
            return value
        }
        func number<T: FixedWidthInteger>(_ key: String, _: T.Type, max: T = T.max) throws -> T {
            let text = try field(key)
            guard let value = T(text), value >= 0, value <= max else {
                throw Diagnostic(
                    file: path,
                    "the checkpoint metadata '\(key)' is '\(Diagnostic.printable(text, limit: 40))', not a whole number from 0 to \(max)",
                    hint: "the file is damaged; resume from another checkpoint")
            }
            return value
        }
        let model = try field("model")
        guard model == graph.modelName else {
            throw Diagnostic(
                file: path, "the checkpoint is of model '\(model)', the spec \(graph.file) defines model '\(graph.modelName)'",
                hint: "resume with the spec the checkpoint was trained with")
        }
        let dtype = try field("dtype")
        let input = try field("input")
        let optimizer = try field("optimizer")
        let ownOptimizer = graph.optimizer?.definition.keyword ?? "none"
        guard dtype == graph.dtype.rawValue, input == graph.inputShape.description, optimizer == ownOptimizer else {
            throw Diagnostic(
                file: path,
                "the checkpoint was trained with dtype \(dtype), input \(input), optimizer \(optimizer); the spec \(graph.file) has dtype \(graph.dtype.rawValue), input \(graph.inputShape), optimizer \(ownOptimizer)",
                hint:
                    "a run continues exactly only with the same dtype, batch and optimizer; resume with the spec the checkpoint was trained with"
            )
        }
        var state = TrainingState(
            epoch: try number("epoch", Int.self, max: TrainingOptions.maxEpochs), step: try number("step", Int64.self, max: 1 << 62),
            seed: try number("seed", UInt64.self), rngSeed: try number("rng_seed", UInt64.self),
            plannedEpochs: try number("epochs", Int.self, max: TrainingOptions.maxEpochs),
            history: try TrainingHistory.decode(try field("history"), origin: path))
        // (Checkpoints written before data-parallel training were all of one process.)
        state.ranks = metadata["ranks"] == nil ? 1 : try number("ranks", Int.self, max: 1 << 24)
        guard state.ranks >= 1 else {
            throw Diagnostic(
                file: path, "the checkpoint metadata 'ranks' is 0", hint: "the file is damaged; resume from another checkpoint")
        }
        state.graphIdentity = metadata["graph"].map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        try importTensors(tensors, origin: path, ignoringPrefixes: [Self.optimizerPrefix])
        try importOptimizerState(tensors, origin: path)
        step = state.step
        rngSeed = state.rngSeed
        return state
    }

    /// Loads parameters and buffers from a checkpoint or a parameter file (`nngen init`), ignoring any
    /// optimizer state: what evaluation and prediction need.
    public func loadParameters(from path: String) throws {
        try importTensors(
            try Safetensors.read(path: path, limit: tensorFileLimit).tensors, origin: path, ignoringPrefixes: [Self.optimizerPrefix])
    }

    /// Stores every `optimizer.SLOT.PARAMETER` tensor; all of them must be present, with the parameter's shape.
    func importOptimizerState(_ tensors: [(name: String, tensor: HostTensor)], origin: String) throws {
        let state = tensors.filter { $0.name.hasPrefix(Self.optimizerPrefix) }
        let expected = exportOptimizerState().map(\.name)
        if let extra = state.first(where: { !expected.contains($0.name) }) {
            throw Diagnostic(
                file: origin,
                "optimizer state '\(extra.name)' does not belong to model '\(graph.modelName)', whose optimizer keeps \(plan.stateSlots) state slot(s) per parameter",
                hint: "the checkpoint was trained with another optimizer or momentum setting; resume with its spec")
        }
        let byName = Dictionary(state.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
        for slot in 0..<plan.stateSlots {
            for planned in plan.parameterTensors {
                let name = Self.optimizerPrefix + "\(slot).\(planned.name)"
                guard let tensor = byName[name] else {
                    throw Diagnostic(
                        file: origin, "optimizer state '\(name)' is missing",
                        hint: "the checkpoint was trained with another optimizer or momentum setting; resume with its spec")
                }
                guard tensor.shape == planned.shape.dims, tensor.elementType == .float32 || tensor.elementType == .float64 else {
                    throw Diagnostic(
                        file: origin,
                        "optimizer state '\(name)' is \(tensor.elementType.rawValue) \(TensorShape(tensor.shape)); expected a float tensor of shape \(planned.shape)"
                    )
                }
                let values = tensor.doubles()
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw Diagnostic(file: origin, "optimizer state '\(name)' holds a non-finite value (\(values[bad])) at index \(bad)")
                }
                store(values, at: plan.stateOffset(of: planned, slot: slot))
            }
        }
    }
}
