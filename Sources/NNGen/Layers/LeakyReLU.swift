// leakyrelu: elementwise max(0, x) with a small slope for negative x, as PyTorch's nn.LeakyReLU.

extension LayerDefinition {
    /// `leakyrelu [NAME] [slope=0.01]`: any shape to the same shape.
    ///
    /// ```
    /// out = x > 0 ? x : slope·x          dx = dout · (x > 0 ? 1 : slope)      (at x = 0: slope, as PyTorch)
    /// ```
    public static let leakyrelu = LayerDefinition(
        keyword: "leakyrelu",
        summary: "elementwise x > 0 ? x : slope·x (PyTorch's nn.LeakyReLU, negative_slope)",
        attributes: [
            AttributeSpec("slope", .real(min: 0, max: 1, openMin: false), default: .real(0.01), "slope for x ≤ 0 (negative_slope)")
        ],
        template: "leakyrelu",
        instantiate: { context in
            LayerInstance(
                output: context.input,
                constants: [
                    TemplateConstant("COUNT", context.input.count, "elements"),
                    .real("SLOPE", context.attributes.double("slope"), "slope for x ≤ 0"),
                ],
                forwardFLOPs: context.input.count)
        })
}
