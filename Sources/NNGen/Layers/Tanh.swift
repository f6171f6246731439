// tanh: elementwise hyperbolic tangent.

extension LayerDefinition {
    /// `tanh [NAME]`: any shape to the same shape, `out = tanh(x)`; backward uses the output
    /// (`dx = dout · (1 − out²)`), which stays in the layer's output slot.
    public static let tanh = LayerDefinition(
        keyword: "tanh",
        summary: "elementwise hyperbolic tangent",
        attributes: [],
        template: "tanh",
        instantiate: { context in
            LayerInstance(
                output: context.input,
                constants: [TemplateConstant("COUNT", context.input.count, "elements")],
                forwardFLOPs: 4 * context.input.count)
        })
}
