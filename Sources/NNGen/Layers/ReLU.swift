// relu: elementwise max(0, x).

extension LayerDefinition {
    /// `relu [NAME]`: any shape to the same shape.
    public static let relu = LayerDefinition(
        keyword: "relu",
        summary: "elementwise max(0, x)",
        attributes: [],
        template: "relu",
        instantiate: { context in
            LayerInstance(
                output: context.input,
                constants: [TemplateConstant("COUNT", context.input.count, "elements")],
                forwardFLOPs: context.input.count)
        })
}
