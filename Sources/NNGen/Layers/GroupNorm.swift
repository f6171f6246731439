// groupnorm: per-sample normalization over groups of channels of an image, with a per-channel scale and shift.

extension LayerDefinition {
    /// `groupnorm NAME groups=G [eps=1e-5]` on `[N, C, H, W]`, G dividing C, γ and β of shape `[C]`.
    ///
    /// Channel c belongs to group g = c / (C/G); each (sample, group) is normalized over its (C/G)·H·W values
    /// (the same in training and test mode):
    /// ```
    /// μ_{n,g}, σ²_{n,g} = mean and biased variance of x[n, c, h, w] over c in group g and all h, w
    /// out[n, c, h, w] = γ_c (x[n, c, h, w] − μ_{n,g}) / sqrt(σ²_{n,g} + ε) + β_c
    /// ```
    /// `groups=1` is layer normalization with per-channel γ and β; `groups=C` is instance normalization.
    public static let groupnorm = LayerDefinition(
        keyword: "groupnorm",
        summary: "group normalization per sample over groups of C/G channels and H·W positions, γ and β [C]",
        attributes: [
            AttributeSpec("groups", .integer(min: 1), "number of channel groups G; must divide the channels C"),
            AttributeSpec("eps", .real(min: 0, max: 1, openMin: true), default: .real(1e-5), "added to the variance"),
        ],
        template: "groupnorm",
        instantiate: { context in
            let shape = context.input
            guard shape.rank == 4 else {
                throw context.error(
                    "expects an input of shape [N, C, H, W], got \(shape)",
                    hint: "groupnorm normalizes groups of image channels; for [N, D] use layernorm")
            }
            let (n, c, spatial) = (shape[0], shape[1], shape[2] * shape[3])
            let g = context.attributes.int("groups")
            guard c % g == 0 else {
                let divisors = (1...c).filter { c % $0 == 0 }.map(String.init).joined(separator: ", ")
                throw context.error(
                    "groups=\(g) does not divide the C = \(c) channels of its input \(shape)",
                    attribute: "groups", hint: "choose groups among the divisors of \(c): \(divisors)")
            }
            return LayerInstance(
                output: shape,
                parameters: [TensorSpec("gamma", [c], .ones), TensorSpec("beta", [c], .zeros)],
                saved: [SavedSpec("mean", count: n * g), SavedSpec("invstd", count: n * g)],
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("C", c, "channels"),
                    TemplateConstant("G", g, "groups"),
                    TemplateConstant("CPG", c / g, "channels per group"),
                    TemplateConstant("S", spatial, "spatial positions per channel (H·W)"),
                    .real("EPS", context.attributes.double("eps"), "added to the variance"),
                ],
                forwardFLOPs: 8 * shape.count)
        })
}
