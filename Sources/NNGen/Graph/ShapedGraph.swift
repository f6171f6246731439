// ShapedGraph: a spec after shape inference — every layer with its inputs, output shape and tensors.

/// What a layer reads: the network input or the output of an earlier layer (by index in `layers`).
public enum TensorSource: Sendable, Hashable {
    case input
    case layer(Int)
}

/// One layer with everything derived from its statement and its input shapes.
public struct ShapedLayer: Sendable {
    public var name: String
    public var definition: LayerDefinition
    /// What it reads, in the order of its `from=` list (one source for all but the merge layers).
    public var sources: [TensorSource]
    /// The shapes of `sources`.
    public var inputs: [TensorShape]
    public var instance: LayerInstance
    /// The checked attributes, defaults filled in.
    public var attributes: Attributes
    public var location: SourceLocation

    public var kind: String { definition.keyword }
    /// The file in `templates/` (without `.c`) its kernels come from.
    public var template: String { instance.template ?? definition.template }
    /// The shape of its (first) input.
    public var input: TensorShape { inputs[0] }
    public var output: TensorShape { instance.output }
    /// Number of trainable parameter elements.
    public var parameterCount: Int { instance.parameters.reduce(0) { $0 + $1.shape.count } }
}

/// The loss with what it derived from the network output.
public struct ShapedLoss: Sendable {
    public var definition: LossDefinition
    public var input: TensorShape
    public var instance: LossInstance
    public var attributes: Attributes
    public var location: SourceLocation

    /// The loss as the spec reads, with the real-valued attributes that differ from their defaults:
    /// `softmax`, `softmax smoothing=0.1` (for headers and `nngen check`).
    public var specText: String {
        let changed = definition.attributes.compactMap { spec -> String? in
            guard case .real(let standard)? = spec.defaultValue else { return nil }
            let value = attributes.double(spec.name)
            return value == standard ? nil : "\(spec.name)=\(value)"
        }
        return ([definition.keyword] + changed).joined(separator: " ")
    }
}

/// The optimizer with its checked hyperparameters.
public struct ShapedOptimizer: Sendable {
    public var definition: OptimizerDefinition
    public var instance: OptimizerInstance
    public var location: SourceLocation
}

/// A learning-rate schedule, evaluated per step by the trainer.
public enum Schedule: Sendable, Hashable {
    case constant
    /// lr · ½(1 + cos(π · step / totalSteps)).
    case cosine
    /// lr · gamma^⌊epoch / every⌋.
    case step(every: Int, gamma: Double)

    /// How the schedule reads in the spec: `constant`, `cosine`, `step every=2 gamma=0.5`.
    public var specText: String {
        switch self {
        case .constant: "constant"
        case .cosine: "cosine"
        case .step(let every, let gamma): "step every=\(every) gamma=\(gamma)"
        }
    }
}

/// A whole model after shape inference.
public struct ShapedGraph: Sendable {
    /// True when a batchnorm has `sync=true`: its statistics need the sums of every process of a
    /// data-parallel job, through the generated `set_allreduce` entry point.
    public var synchronizesBatchStatistics: Bool { layers.contains { $0.kind == "batchnorm" && $0.attributes.bool("sync") } }

    /// What shape inference noticed but accepted (`nngen check` and every command print them).
    public var warnings: [Diagnostic] = []
    public var modelName: String
    public var file: String
    public var dtype: DType
    public var inputName: String
    public var inputShape: TensorShape
    public var layers: [ShapedLayer]
    public var loss: ShapedLoss
    public var optimizer: ShapedOptimizer?
    public var schedule: Schedule
    /// The spec's `normalize` statement: how raw byte samples become inputs (nil: none given).
    public var preprocessing: Preprocessing? = nil

    /// What byte samples go through: the spec's `normalize`, or b / 255 without one.
    public var bytePreprocessing: Preprocessing { preprocessing ?? .bytesToUnitRange }

    public var batch: Int { inputShape.batch }
    /// The network output (the loss input), e.g. `[N, 10]`.
    public var outputShape: TensorShape { layers.last?.output ?? inputShape }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    public var forwardFLOPs: Int { layers.reduce(0) { $0 + $1.instance.forwardFLOPs } + loss.instance.forwardFLOPs }

    public func layer(named name: String) -> ShapedLayer? { layers.first { $0.name == name } }

    /// The shape of a source.
    public func shape(of source: TensorSource) -> TensorShape {
        switch source {
        case .input: inputShape
        case .layer(let index): layers[index].output
        }
    }

    /// The name a spec uses for a source: the input's name or the layer's.
    public func name(of source: TensorSource) -> String {
        switch source {
        case .input: inputName
        case .layer(let index): layers[index].name
        }
    }

    /// Whether the spec is a chain: every layer reads the one before it (the first reads the input).
    public var isChain: Bool {
        layers.indices.allSatisfy { layers[$0].sources == [$0 == 0 ? .input : .layer($0 - 1)] }
    }
}
