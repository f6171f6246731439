// mse loss: mean squared error over every element of the network output against real-valued targets.

extension LossDefinition {
    /// `loss mse`: on an output `[N, ...]` (read as `[N, K]`, K = the product of the other dimensions) with a
    /// target of the same shape in the model's dtype,
    /// ```
    /// loss = (1/(N K)) Σ_{n,k} (o[n][k] − t[n][k])²
    /// ```
    public static let mse = LossDefinition(
        keyword: "mse",
        summary: "mean squared error over all N·K output elements; targets: real values of the output's shape",
        attributes: [],
        template: "mse_loss",
        target: .dense,
        instantiate: { context in
            // Any output shape works: the loss is a mean over all of its elements, and the target has the
            // output's shape, so a [N, C, H, W] output (an image-to-image model) is read as [N, C·H·W].
            let shape = context.input
            return LossInstance(
                saved: [],
                constants: [
                    TemplateConstant("N", shape.batch, "batch"),
                    TemplateConstant("K", shape.featureCount, "output elements per sample"),
                ],
                forwardFLOPs: 3 * shape.count)
        })
}
