// sigmoid: elementwise logistic function 1 / (1 + e^−x).

extension LayerDefinition {
    /// `sigmoid [NAME]`: any shape to the same shape, `out = 1 / (1 + exp(−x))`; backward uses the output
    /// (`dx = dout · out · (1 − out)`), which stays in the layer's output slot.
    public static let sigmoid = LayerDefinition(
        keyword: "sigmoid",
        summary: "elementwise logistic 1 / (1 + exp(−x))",
        attributes: [],
        template: "sigmoid",
        instantiate: { context in
            LayerInstance(
                output: context.input,
                constants: [TemplateConstant("COUNT", context.input.count, "elements")],
                forwardFLOPs: 4 * context.input.count)
        })
}
