// ShapedGraph: a spec after shape inference — every layer with its input and output shapes and tensors.

/// One layer with everything derived from its statement and its input shape.
public struct ShapedLayer: Sendable {
    public var name: String
    public var definition: LayerDefinition
    public var input: Shape
    public var instance: LayerInstance
    /// The checked attributes, defaults filled in.
    public var attributes: Attributes
    public var location: SourceLocation

    public var kind: String { definition.keyword }
    public var output: Shape { instance.output }
    /// Number of trainable parameter elements.
    public var parameterCount: Int { instance.parameters.reduce(0) { $0 + $1.shape.count } }
}

/// The loss with what it derived from the network output.
public struct ShapedLoss: Sendable {
    public var definition: LossDefinition
    public var input: Shape
    public var instance: LossInstance
    public var attributes: Attributes
    public var location: SourceLocation
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
}

/// A whole model after shape inference.
public struct ShapedGraph: Sendable {
    public var modelName: String
    public var file: String
    public var dtype: DType
    public var inputName: String
    public var inputShape: Shape
    public var layers: [ShapedLayer]
    public var loss: ShapedLoss
    public var optimizer: ShapedOptimizer?
    public var schedule: Schedule

    public var batch: Int { inputShape.batch }
    /// The network output (the loss input), e.g. `[N, 10]`.
    public var outputShape: Shape { layers.last?.output ?? inputShape }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    public var forwardFLOPs: Int { layers.reduce(0) { $0 + $1.instance.forwardFLOPs } + loss.instance.forwardFLOPs }

    public func layer(named name: String) -> ShapedLayer? { layers.first { $0.name == name } }
}
