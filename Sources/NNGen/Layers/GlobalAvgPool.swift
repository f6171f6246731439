// globalavgpool: the mean of each channel, as PyTorch's nn.AdaptiveAvgPool2d(1); avgpool's template.

extension LayerDefinition {
    /// `globalavgpool NAME`: `[N, C, H, W] → [N, C, 1, 1]`, the mean of each channel (PyTorch's
    /// `nn.AdaptiveAvgPool2d(1)`); avgpool's kernels with one H×W window.
    public static let globalavgpool = LayerDefinition(
        keyword: "globalavgpool",
        summary: "mean of each channel: [N, C, H, W] → [N, C, 1, 1]",
        attributes: [],
        template: "avgpool",
        instantiate: { context in
            let shape = context.input
            guard shape.rank == 4 else {
                throw context.error(
                    "expects images [N, C, H, W], got \(shape)",
                    hint: "globalavgpool averages each channel of an image; it has nothing to do on [N, D]")
            }
            let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
            return LayerInstance(
                output: [n, c, 1, 1],
                constants: [
                    TemplateConstant("N", n, "batch"), TemplateConstant("C", c, "channels"),
                    TemplateConstant("H", h, "input height"), TemplateConstant("W", w, "input width"),
                    TemplateConstant("KH", h, "window height: the whole input"), TemplateConstant("KW", w, "window width"),
                    TemplateConstant("SH", h, "vertical step"), TemplateConstant("SW", w, "horizontal step"),
                    TemplateConstant("PH", 0, "no padding"), TemplateConstant("PW", 0, "no padding"),
                    TemplateConstant("OH", 1, "output height"), TemplateConstant("OW", 1, "output width"),
                    TemplateConstant("COUNT_PAD", 1, "the divisor is H·W"),
                ],
                forwardFLOPs: shape.count + n * c)
        })
}
