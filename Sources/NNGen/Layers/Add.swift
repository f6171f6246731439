// add: elementwise sum of two or more tensors of one shape (residual connections).

extension LayerDefinition {
    /// `add NAME from=A,B[,C...]`: inputs of one shape → that shape.
    ///
    /// ```
    /// out = x₀ + x₁ + ...          ∂L/∂xₖ = ∂L/∂out for every k
    /// ```
    /// PyTorch: `a + b`, as in a ResNet block's `out += identity`.
    public static let add = LayerDefinition(
        keyword: "add",
        summary: "elementwise sum of two or more inputs of one shape (residual connections); from=A,B,...",
        attributes: [],
        template: "add",
        instantiate: { context in
            let first = context.inputs[0]
            if let other = context.inputs.first(where: { $0.shape != first.shape }) {
                throw context.error(
                    "adds inputs of one shape, but \(first.described) and \(other.described) differ",
                    hint: "make the shapes equal, e.g. with a 1×1 conv (filters, stride) or an affine on the shortcut")
            }
            var instance = LayerInstance(
                output: first.shape,
                constants: [TemplateConstant("COUNT", first.shape.count, "elements of each input and of the output")],
                forwardFLOPs: (context.inputs.count - 1) * first.shape.count)
            instance.fusibleActivations = ["relu"]  // add.c's forward_relu and backward_relu
            return instance
        },
        arity: .merge)
}
