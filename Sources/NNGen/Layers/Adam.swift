// adam: the Adam optimizer (Kingma & Ba 2015) in PyTorch's formulation, with L2 weight decay.

extension OptimizerDefinition {
    /// `optimizer adam lr= [beta1=0.9] [beta2=0.999] [eps=1e-8] [weight_decay=0]`, as `torch.optim.Adam`
    /// (weight decay added to the gradient, not decoupled as in AdamW); t is the step, counting from 1:
    /// ```
    /// g = grad + weight_decay·p
    /// m = β1·m + (1 − β1)·g            v = β2·v + (1 − β2)·g²
    /// p = p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)
    /// ```
    public static let adam = OptimizerDefinition(
        keyword: "adam",
        summary: "Adam with bias correction and L2 weight decay (PyTorch's torch.optim.Adam)",
        attributes: [
            AttributeSpec("lr", .real(min: 0, max: 1e6, openMin: true), "learning rate"),
            AttributeSpec(
                "beta1", .real(min: 0, max: 1, openMin: false), default: .real(0.9),
                "decay of the first-moment (mean) estimate, in [0, 1)"),
            AttributeSpec(
                "beta2", .real(min: 0, max: 1, openMin: false), default: .real(0.999),
                "decay of the second-moment (uncentered variance) estimate, in [0, 1)"),
            AttributeSpec(
                "eps", .real(min: 0, max: 1, openMin: true), default: .real(1e-8),
                "added to sqrt(v̂) in the denominator"),
            AttributeSpec(
                "weight_decay", .real(min: 0, max: 1e6, openMin: false), default: .real(0),
                "L2 penalty λ added to the gradient"),
        ],
        template: "adam",
        instantiate: { attributes in
            try checkBetas(attributes, optimizer: "adam")
            return OptimizerInstance(
                stateSlots: 2,
                constants: [
                    .real("BETA1", attributes.double("beta1"), "first-moment decay β1"),
                    .real("BETA2", attributes.double("beta2"), "second-moment decay β2"),
                    .real("EPS", attributes.double("eps"), "added to sqrt(v̂)"),
                    .real("WEIGHT_DECAY", attributes.double("weight_decay"), "L2 weight decay λ"),
                ],
                learningRate: attributes.double("lr"))
        })

    /// β1 and β2 below 1: with β = 1 a moment estimate never leaves 0 and its bias correction divides by 0.
    static func checkBetas(_ attributes: Attributes, optimizer: String) throws {
        for beta in ["beta1", "beta2"] {
            let value = attributes.double(beta)
            guard value < 1 else {
                let usual = beta == "beta1" ? "0.9" : "0.999"
                throw Diagnostic(
                    at: attributes.location(of: beta),
                    "optimizer \(optimizer) \(beta) must be below 1, got \(Attributes.format(value))",
                    hint: "with \(beta) = 1 the moment estimate never leaves 0 and its bias correction divides by 0; "
                        + "the usual value is \(usual)")
            }
        }
    }
}
