// gelu: the Gaussian error linear unit in its exact erf form, as PyTorch's nn.GELU() (approximate='none').

extension LayerDefinition {
    /// `gelu [NAME]`: any shape to the same shape.
    ///
    /// ```
    /// out = x·Φ(x),  Φ(x) = ½(1 + erf(x/√2))            dx = dout · (Φ(x) + x·φ(x)),  φ(x) = e^(−x²/2)/√(2π)
    /// ```
    public static let gelu = LayerDefinition(
        keyword: "gelu",
        summary: "elementwise x·Φ(x), Φ the standard normal CDF (exact erf form, PyTorch's nn.GELU())",
        attributes: [],
        template: "gelu",
        instantiate: { context in
            LayerInstance(
                output: context.input,
                constants: [TemplateConstant("COUNT", context.input.count, "elements")],
                forwardFLOPs: 8 * context.input.count)
        })
}
