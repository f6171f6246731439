// avgpool: the mean of each window of every channel, as PyTorch's nn.AvgPool2d.

extension LayerDefinition {
    /// `avgpool NAME size=K|KHxKW [stride=size] [pad=0] [ceil=false] [count_pad=true]`:
    /// `[N, C, H, W] → [N, C, OH, OW]`, no parameters (the window geometry is `poolingWindow`'s).
    ///
    /// ```
    /// window (oy, ox): rows y0 = oy·SH − PH ..< y1 = min(y0 + KH, H + PH), columns likewise
    /// out[n, c, oy, ox] = Σ_{y, x in the window and inside the input} x[n, c, y, x] / divisor
    /// divisor = (y1 − y0)·(x1 − x0)             with count_pad=true (PyTorch's count_include_pad, the default)
    ///         = the input elements of the window with count_pad=false
    /// dx[n, c, y, x] = Σ over the windows holding (y, x) of dout[n, c, oy, ox] / divisor
    /// ```
    public static let avgpool = LayerDefinition(
        keyword: "avgpool",
        summary: "mean over KH×KW windows of each channel; stride = window size unless given; pad, ceil, count_pad as PyTorch",
        attributes: poolingAttributes + [
            AttributeSpec(
                "count_pad", .boolean, default: .boolean(true),
                "divide by the window size padding included (PyTorch's count_include_pad), or by the input elements")
        ],
        template: "avgpool",
        instantiate: { context in
            var warnings: [Diagnostic] = []
            let window = try poolingWindow(context, warnings: &warnings)
            let countPad = context.attributes.bool("count_pad")
            return LayerInstance(
                output: window.output,
                constants: window.constants + [TemplateConstant("COUNT_PAD", countPad ? 1 : 0, "1: the divisor counts padding")],
                forwardFLOPs: window.output.count * (window.windowSize + 1),  // adds and one division per window
                warnings: warnings)
        })
}
