// affine: fully connected layer, out = x W + b, flattening its input to [N, D].

extension LayerDefinition {
    /// `affine NAME out=M [init=he]`: `[N, ...] → [N, M]`, weight `[D, M]`, bias `[M]`.
    public static let affine = LayerDefinition(
        keyword: "affine",
        summary: "fully connected: out = x·W + b on the input flattened to [N, D]",
        attributes: [
            AttributeSpec("out", .integer(min: 1), "output features M"),
            AttributeSpec("init", .initializer, default: .initializer(.he), "weight initializer"),
        ],
        template: "affine",
        instantiate: { context in
            let n = context.input.batch
            let d = context.input.featureCount
            let m = context.attributes.int("out")
            return LayerInstance(
                output: [n, m],
                parameters: [
                    TensorSpec("weight", [d, m], context.attributes.initializer("init"), fanIn: d, fanOut: m),
                    TensorSpec("bias", [m], .zeros),
                ],
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("D", d, "input features (flattened)"),
                    TemplateConstant("M", m, "output features"),
                ],
                forwardFLOPs: 2 * n * d * m + n * m)
        })
}
