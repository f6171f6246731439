// affine: fully connected layer, out = x W + b, flattening its input to [N, D].

extension LayerDefinition {
    /// `affine NAME out=M [bias=true] [init=he]`: `[N, ...] → [N, M]`, weight `[D, M]`, bias `[M]` (none with
    /// `bias=false`). PyTorch's nn.Linear stores the weight transposed, `[M, D]`.
    public static let affine = LayerDefinition(
        keyword: "affine",
        summary: "fully connected: out = x·W + b on the input flattened to [N, D]",
        attributes: [
            AttributeSpec("out", .integer(min: 1), "output features M"),
            AttributeSpec("bias", .boolean, default: .boolean(true), "whether the layer adds a bias per output"),
            AttributeSpec("init", .initializer, default: .initializer(.he), "weight initializer"),
        ],
        template: "affine",
        instantiate: { context in
            let n = context.input.batch
            let d = context.input.featureCount
            let m = context.attributes.int("out")
            let bias = context.attributes.bool("bias")
            return LayerInstance(
                output: [n, m],
                parameters: [TensorSpec("weight", [d, m], context.attributes.initializer("init"), fanIn: d, fanOut: m)]
                    + (bias ? [TensorSpec("bias", [m], .zeros)] : []),
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("D", d, "input features (flattened)"),
                    TemplateConstant("M", m, "output features"),
                    TemplateConstant("HAS_BIAS", bias ? 1 : 0, "1: out = x·W + b; 0: no bias"),
                ],
                forwardFLOPs: 2 * n * d * m + (bias ? n * m : 0))
        })
}
