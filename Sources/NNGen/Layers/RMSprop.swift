// rmsprop: RMSprop (Tieleman & Hinton 2012), the rule of the reference notes' solver, as torch.optim.RMSprop.

extension OptimizerDefinition {
    /// `optimizer rmsprop lr= [decay=0.99] [eps=1e-8] [weight_decay=0]`, torch.optim.RMSprop with
    /// alpha = decay, no momentum, not centered:
    /// ```
    /// g = grad + weight_decay·p;   cache = decay·cache + (1 − decay)·g²;   p = p − lr·g / (sqrt(cache) + eps)
    /// ```
    public static let rmsprop = OptimizerDefinition(
        keyword: "rmsprop",
        summary: "RMSprop: steps scaled by a running RMS of the gradient (torch.optim.RMSprop, alpha = decay)",
        attributes: [
            AttributeSpec("lr", .real(min: 0, max: 1e6, openMin: true), "learning rate"),
            AttributeSpec(
                "decay", .real(min: 0, max: 1, openMin: false), default: .real(0.99),
                "decay of the running mean of g² (PyTorch's alpha), in [0, 1)"),
            AttributeSpec("eps", .real(min: 0, max: 1, openMin: true), default: .real(1e-8), "added to sqrt(cache)"),
            AttributeSpec(
                "weight_decay", .real(min: 0, max: 1e6, openMin: false), default: .real(0), "L2 penalty λ added to the gradient"),
        ],
        template: "rmsprop",
        instantiate: { attributes in
            let decay = attributes.double("decay")
            guard decay < 1 else {
                throw Diagnostic(
                    at: attributes.location(of: "decay"), "optimizer rmsprop decay must be below 1, got \(Attributes.format(decay))",
                    hint: "with decay = 1 the cache never leaves 0 and every step divides by eps; the usual value is 0.99")
            }
            return OptimizerInstance(
                stateSlots: 1,
                constants: [
                    .real("DECAY", decay, "decay of the mean of g²"),
                    .real("EPS", attributes.double("eps"), "added to sqrt(cache)"),
                    .real("WEIGHT_DECAY", attributes.double("weight_decay"), "L2 weight decay λ"),
                ],
                learningRate: attributes.double("lr"))
        })
}
