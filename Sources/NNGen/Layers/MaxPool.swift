// maxpool: the largest value of each window of every channel, as PyTorch's nn.MaxPool2d.

extension LayerDefinition {
    /// `maxpool NAME size=K|KHxKW [stride=size] [pad=0] [ceil=false]`: `[N, C, H, W] → [N, C, OH, OW]`, no
    /// parameters (the window geometry is `poolingWindow`'s).
    ///
    /// ```
    /// out[n, c, oy, ox] = max over the window's input elements (padding never wins: PyTorch pads with −∞)
    ///                     x[n, c, oy·SH − PH + ky, ox·SW − PW + kx]
    /// ```
    /// Backward sends each output gradient to the first maximum of its window (row-major order), as PyTorch.
    public static let maxpool = LayerDefinition(
        keyword: "maxpool",
        summary: "max over KH×KW windows of each channel; stride = window size unless given; pad, ceil as PyTorch",
        attributes: poolingAttributes,
        template: "maxpool",
        instantiate: { context in
            var warnings: [Diagnostic] = []
            let window = try poolingWindow(context, warnings: &warnings)
            return LayerInstance(
                output: window.output, constants: window.constants,
                forwardFLOPs: window.output.count * window.windowSize,  // one comparison per window element
                warnings: warnings)
        })
}
