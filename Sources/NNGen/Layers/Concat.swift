// concat: concatenation along channels ([N, C, H, W]) or features ([N, D]) (DenseNet, Inception).

extension LayerDefinition {
    /// `concat NAME from=A,B[,C...]`: `[N, Cₖ, H, W] → [N, ΣCₖ, H, W]` or `[N, Dₖ] → [N, ΣDₖ]`.
    ///
    /// Per sample, each input is one contiguous block of Cₖ·H·W (or Dₖ) elements; the output sample is the
    /// blocks in `from=` order, and each input's gradient is its block of the output gradient.
    /// PyTorch: `torch.cat([a, b], dim=1)`.
    public static let concat = LayerDefinition(
        keyword: "concat",
        summary: "concatenation of two or more inputs along channels [N, C, H, W] or features [N, D]; from=A,B,...",
        attributes: [],
        template: "concat",
        instantiate: { context in
            let first = context.inputs[0]
            guard first.shape.rank == 2 || first.shape.rank == 4 else {
                throw context.error("joins [N, D] or [N, C, H, W] tensors, got \(first.described)")
            }
            for other in context.inputs.dropFirst() {
                guard other.shape.rank == first.shape.rank else {
                    throw context.error(
                        "joins tensors of one rank, but \(first.described) and \(other.described) differ",
                        hint: "flatten the images first with an affine layer, or concatenate images with images")
                }
                let agree =
                    first.shape.rank == 2
                    ? other.shape[0] == first.shape[0]
                    : other.shape[0] == first.shape[0] && other.shape[2] == first.shape[2] && other.shape[3] == first.shape[3]
                guard agree else {
                    let what = first.shape.rank == 2 ? "the batch N" : "N, H and W (it joins along channels)"
                    throw context.error(
                        "needs inputs that agree in \(what), but \(first.described) and \(other.described) differ",
                        hint: first.shape.rank == 4 ? "pool or stride the larger one down to the same H and W" : nil)
                }
            }
            let n = first.shape[0]
            let sizes = context.inputs.map { $0.shape.count / n }
            let channels = context.inputs.map { $0.shape[1] }.reduce(0, +)
            let output: TensorShape = first.shape.rank == 2 ? [n, channels] : [n, channels, first.shape[2], first.shape[3]]
            return LayerInstance(
                output: output,
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("SIZES", sizes.map(String.init).joined(separator: ", "), "elements per sample of each input"),
                    TemplateConstant("SAMPLE", sizes.reduce(0, +), "elements per sample of the output"),
                ],
                forwardFLOPs: 0)
        },
        arity: .merge)
}
