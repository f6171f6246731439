// layernorm: per-sample normalization over all of a sample's features, with a per-feature scale and shift.

extension LayerDefinition {
    /// `layernorm NAME [eps=1e-5]` on `[N, D]`, or on `[N, C, H, W]` taken as `[N, D]` with D = C·H·W.
    ///
    /// Each sample is normalized over its D values (the same in training and test mode: no running
    /// statistics), then scaled and shifted per feature, with γ and β of shape `[D]`:
    /// ```
    /// μ_n = (1/D) Σ_d x[n, d],   σ²_n = (1/D) Σ_d (x[n, d] − μ_n)²,   out[n, d] = γ_d (x[n, d] − μ_n)/sqrt(σ²_n + ε) + β_d
    /// ```
    /// A 4-D input keeps its shape; its γ and β cover every (c, h, w) position, as PyTorch's
    /// `LayerNorm([C, H, W])` does. (For per-channel γ and β on images, use `groupnorm groups=1`.)
    public static let layernorm = LayerDefinition(
        keyword: "layernorm",
        summary: "layer normalization per sample over its D features (C·H·W for images), γ and β [D]",
        attributes: [
            AttributeSpec("eps", .real(min: 0, max: 1, openMin: true), default: .real(1e-5), "added to the variance")
        ],
        template: "layernorm",
        instantiate: { context in
            let shape = context.input
            let n = shape.batch
            let d = shape.featureCount
            return LayerInstance(
                output: shape,
                parameters: [TensorSpec("gamma", [d], .ones), TensorSpec("beta", [d], .zeros)],
                saved: [SavedSpec("mean", count: n), SavedSpec("invstd", count: n)],
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("D", d, "features per sample (C·H·W for images)"),
                    .real("EPS", context.attributes.double("eps"), "added to the variance"),
                ],
                forwardFLOPs: 8 * shape.count)
        })
}
