// OptimizerDefinition: an update rule generated per parameter tensor and fused into the training step.

/// What an optimizer derives from its statement.
public struct OptimizerInstance: Sendable {
    /// State arrays per parameter element (momentum: 1; Adam: 2; plain SGD: 0).
    public var stateSlots: Int
    /// Constants shared by every tensor's update (hyperparameters other than the learning rate).
    public var constants: [TemplateConstant]
    /// The learning rate the spec gives; the runtime passes the scheduled value each step.
    public var learningRate: Double
}

/// An optimizer kind: `optimizer sgd lr=0.05 momentum=0.9`.
public struct OptimizerDefinition: Sendable {
    public var keyword: String
    public var summary: String
    public var attributes: [AttributeSpec]
    public var template: String
    public var instantiate: @Sendable (Attributes) throws -> OptimizerInstance

    public static let all: [OptimizerDefinition] = [.sgd, .adam, .rmsprop, .adamw]

    public static func definition(_ keyword: String) -> OptimizerDefinition? {
        all.first { $0.keyword == keyword }
    }
}

extension OptimizerDefinition {
    /// `optimizer sgd lr= [momentum=0] [weight_decay=0]`, PyTorch's formulation:
    /// ```
    /// g = grad + weight_decay·p;  v = momentum·v + g;  p = p − lr·v
    /// ```
    public static let sgd = OptimizerDefinition(
        keyword: "sgd",
        summary: "stochastic gradient descent with momentum and weight decay",
        attributes: [
            AttributeSpec("lr", .real(min: 0, max: 1e6, openMin: true), "learning rate"),
            AttributeSpec("momentum", .real(min: 0, max: 1, openMin: false), default: .real(0), "momentum μ in [0, 1)"),
            AttributeSpec("weight_decay", .real(min: 0, max: 1e6, openMin: false), default: .real(0), "L2 penalty λ added to the gradient"),
        ],
        template: "sgd",
        instantiate: { attributes in
            let momentum = attributes.double("momentum")
            guard momentum < 1 else {
                throw Diagnostic(
                    at: attributes.location(of: "momentum"), "optimizer sgd momentum must be below 1, got \(Attributes.format(momentum))",
                    hint: "with momentum = 1 the velocity never decays and the steps grow without bound; the usual value is 0.9")
            }
            return OptimizerInstance(
                stateSlots: momentum > 0 ? 1 : 0,
                constants: [
                    .real("MOMENTUM", momentum, "momentum μ"),
                    .real("WEIGHT_DECAY", attributes.double("weight_decay"), "L2 weight decay λ"),
                ],
                learningRate: attributes.double("lr"))
        })
}
