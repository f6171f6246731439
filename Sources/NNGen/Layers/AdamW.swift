// adamw: Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW.

extension OptimizerDefinition {
    /// `optimizer adamw lr= [beta1=0.9] [beta2=0.999] [eps=1e-8] [weight_decay=0.01]`, torch.optim.AdamW; the
    /// decay shrinks the parameter directly instead of entering the gradient (t counts steps from 1):
    /// ```
    /// p = p·(1 − lr·weight_decay)
    /// m = β1·m + (1 − β1)·g            v = β2·v + (1 − β2)·g²
    /// p = p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)
    /// ```
    public static let adamw = OptimizerDefinition(
        keyword: "adamw",
        summary: "Adam with decoupled weight decay (PyTorch's torch.optim.AdamW)",
        attributes: [
            AttributeSpec("lr", .real(min: 0, max: 1e6, openMin: true), "learning rate"),
            AttributeSpec(
                "beta1", .real(min: 0, max: 1, openMin: false), default: .real(0.9), "decay of the first-moment estimate, in [0, 1)"),
            AttributeSpec(
                "beta2", .real(min: 0, max: 1, openMin: false), default: .real(0.999), "decay of the second-moment estimate, in [0, 1)"),
            AttributeSpec("eps", .real(min: 0, max: 1, openMin: true), default: .real(1e-8), "added to sqrt(v̂) in the denominator"),
            AttributeSpec(
                "weight_decay", .real(min: 0, max: 1e6, openMin: false), default: .real(0.01),
                "decoupled decay: each step multiplies the parameters by 1 − lr·weight_decay"),
        ],
        template: "adamw",
        instantiate: { attributes in
            try checkBetas(attributes, optimizer: "adamw")
            return OptimizerInstance(
                stateSlots: 2,
                constants: [
                    .real("BETA1", attributes.double("beta1"), "first-moment decay β1"),
                    .real("BETA2", attributes.double("beta2"), "second-moment decay β2"),
                    .real("EPS", attributes.double("eps"), "added to sqrt(v̂)"),
                    .real("WEIGHT_DECAY", attributes.double("weight_decay"), "decoupled weight decay λ"),
                ],
                learningRate: attributes.double("lr"))
        })
}
