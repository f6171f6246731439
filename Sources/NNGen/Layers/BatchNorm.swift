// batchnorm: per-feature ([N, D]) or per-channel ([N, C, H, W], spatial) batch normalization.

extension LayerDefinition {
    /// `batchnorm NAME [eps=1e-5] [momentum=0.9] [sync=false]` on `[N, D]` or `[N, C, H, W]`.
    public static let batchnorm = LayerDefinition(
        keyword: "batchnorm",
        summary: "batch normalization per feature ([N, D]) or per channel over N, H, W ([N, C, H, W])",
        attributes: [
            AttributeSpec("eps", .real(min: 0, max: 1, openMin: true), default: .real(1e-5), "added to the variance"),
            AttributeSpec(
                "momentum", .real(min: 0, max: 1, openMin: false), default: .real(0.9),
                "running = momentum·running + (1 − momentum)·batch"),
            AttributeSpec(
                "sync", .boolean, default: .boolean(false),
                "batch statistics over every process of a data-parallel run (PyTorch's SyncBatchNorm)"),
        ],
        template: "batchnorm",
        instantiate: { context in
            let shape = context.input
            guard shape.rank == 2 || shape.rank == 4 else {
                throw context.error("expects an input of shape [N, D] or [N, C, H, W], got \(shape)")
            }
            let n = shape.batch
            let channels = shape[1]
            let spatial = shape.rank == 4 ? shape[2] * shape[3] : 1
            guard n * spatial >= 2 || context.forwardOnly else {  // forward only: the running statistics
                throw context.error(
                    "on \(shape) normalizes each feature over N·H·W = 1 value: in training its output would always be β",
                    hint: "use a batch of 2 or more, or layernorm for per-sample normalization")
            }
            var instance = LayerInstance(
                output: shape,
                parameters: [TensorSpec("gamma", [channels], .ones), TensorSpec("beta", [channels], .zeros)],
                buffers: [TensorSpec("running_mean", [channels], .zeros), TensorSpec("running_var", [channels], .ones)],
                saved: [SavedSpec("mean", count: channels), SavedSpec("invstd", count: channels)],
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("C", channels, "features or channels"),
                    TemplateConstant("S", spatial, "spatial positions per channel (H·W, 1 for [N, D])"),
                    .real("EPS", context.attributes.double("eps"), "added to the variance"),
                    .real("MOMENTUM", context.attributes.double("momentum"), "running-statistics momentum"),
                ],
                forwardFLOPs: 8 * shape.count)
            // sync=true: the statistics of every process's batch, in a template of its own.
            if context.attributes.bool("sync") {
                instance.template = "batchnorm_sync"
            } else {
                instance.fusibleActivations = ["relu"]  // batchnorm.c's forward_relu and backward_relu
            }
            return instance
        })
}
