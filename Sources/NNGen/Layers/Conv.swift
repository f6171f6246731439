// conv: 2-D convolution (cross-correlation) with stride and zero padding on [N, C, H, W].

extension LayerDefinition {
    /// `conv NAME filters=F size=K|KHxKW [stride=1] [pad=0] [init=he]`: `[N, C, H, W] → [N, F, OH, OW]`,
    /// weight `[F, C, KH, KW]`, bias `[F]`.
    ///
    /// ```
    /// OH = ⌊(H + 2·pad − KH) / stride⌋ + 1,   OW = ⌊(W + 2·pad − KW) / stride⌋ + 1   (≥ 1; the floor may drop
    /// only padding: a stride that would skip real input rows or columns is an error)
    /// out[n, f, oy, ox] = b[f] + Σ_{c, ky, kx} x[n, c, oy·stride − pad + ky, ox·stride − pad + kx]·W[f, c, ky, kx]
    /// ```
    /// The kernel lowers each sample to a `(C·KH·KW, OH·OW)` matrix (im2col) plus a row of ones (for db).
    /// Forward keeps those of the whole batch (`col`, N·(C·KH·KW + 1)·OH·OW elements) for backward's dW;
    /// backward turns the input gradient of each sample back from such a matrix (`dcol`), one per group of
    /// samples that one thread handles (min(N, 8) of them), and uses a transposed copy of the output
    /// gradient (`dout_t`) and of dW and db (`dweight_t`) for its GEMMs.
    public static let conv = LayerDefinition(
        keyword: "conv",
        summary: "2-D convolution: F filters of C×KH×KW over [N, C, H, W], with stride and zero padding",
        attributes: [
            AttributeSpec("filters", .integer(min: 1), "output channels F"),
            AttributeSpec("size", .size2D, "kernel size K (square) or KHxKW"),
            AttributeSpec("stride", .integer(min: 1), default: .integer(1), "step between output positions"),
            AttributeSpec("pad", .integer(min: 0), default: .integer(0), "zero rows and columns added on every side"),
            AttributeSpec("init", .initializer, default: .initializer(.he), "weight initializer"),
        ],
        template: "conv",
        instantiate: { context in
            let shape = context.input
            guard shape.rank == 4 else {
                throw context.error(
                    "expects images [N, C, H, W], got \(shape)",
                    hint: "conv works on images: give the input as [N, C, H, W] and put conv layers before any affine "
                        + "layer, which flattens to [N, D]")
            }
            let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
            let f = context.attributes.int("filters")
            let (kh, kw) = context.attributes.size("size")
            let stride = context.attributes.int("stride")
            let pad = context.attributes.int("pad")
            guard pad < min(kh, kw) else {
                let same = kh == kw && kh % 2 == 1 ? "; pad=\(kh / 2) keeps H and W at stride 1" : ""
                throw context.error(
                    "pad=\(pad) is not smaller than the \(kh)x\(kw) kernel: the outermost outputs would see only padding",
                    attribute: "pad", hint: "use pad ≤ \(min(kh, kw) - 1)\(same)")
            }
            let oh = try convOutputSide(context, vertical: true, kernel: (kh, kw), stride: stride, pad: pad)
            let ow = try convOutputSide(context, vertical: false, kernel: (kh, kw), stride: stride, pad: pad)
            let ckk = try checkedProduct([c, kh, kw], context, "the kernel \(c)x\(kh)x\(kw)")
            let columns = try checkedProduct([n, ckk + 1, oh, ow], context, "the im2col scratch array (N·(C·KH·KW + 1)·OH·OW)")
            let slots = min(n, convInputGradientSlots)
            let gradientColumns = try checkedProduct([slots, ckk, oh, ow], context, "the col2im scratch array")
            let outputCount = try checkedProduct([n, f, oh, ow], context, "the output")
            // 2·N·F·OH·OW·C·KH·KW (multiply-adds) + N·F·OH·OW (bias)
            let flops = try checkedProduct([outputCount, 2 * ckk + 1], context, "the FLOP count", limit: Int.max)
            return LayerInstance(
                output: [n, f, oh, ow],
                parameters: [
                    TensorSpec(
                        "weight", [f, c, kh, kw], context.attributes.initializer("init"),
                        fanIn: ckk, fanOut: f * kh * kw),
                    TensorSpec("bias", [f], .zeros),
                ],
                saved: [
                    SavedSpec("col", count: columns), SavedSpec("dcol", count: gradientColumns),
                    SavedSpec("dout_t", count: outputCount), SavedSpec("dweight_t", count: (ckk + 1) * f),
                ],
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("C", c, "input channels"),
                    TemplateConstant("H", h, "input height"),
                    TemplateConstant("W", w, "input width"),
                    TemplateConstant("F", f, "filters (output channels)"),
                    TemplateConstant("KH", kh, "kernel height"),
                    TemplateConstant("KW", kw, "kernel width"),
                    TemplateConstant("STRIDE", stride, "step between output positions"),
                    TemplateConstant("PAD", pad, "zero padding on every side"),
                    TemplateConstant("OH", oh, "output height"),
                    TemplateConstant("OW", ow, "output width"),
                    TemplateConstant("CKK", ckk, "C·KH·KW: rows of the im2col matrix"),
                    TemplateConstant("OHW", oh * ow, "OH·OW: output positions per channel"),
                    TemplateConstant("SLOTS", slots, "dcol matrices: one per group of samples whose dx one task computes"),
                ],
                forwardFLOPs: flops)
        })

    /// Groups of samples whose input gradient backward computes in parallel, each with its own `dcol` matrix.
    static let convInputGradientSlots = 8

    /// One side of a convolution's output, `⌊(input + 2·pad − kernel) / stride⌋ + 1` along the height
    /// (`vertical`) or the width; throws, naming the layer, its input and the arithmetic, when it is below 1 or
    /// when the rounding would leave real input (not padding) outside every window.
    static func convOutputSide(_ context: LayerContext, vertical: Bool, kernel: (Int, Int), stride: Int, pad: Int) throws -> Int {
        let (h, w) = (context.input[2], context.input[3])
        let (kh, kw) = kernel
        let (axis, dim, k, input, size) = vertical ? ("height", "H", "KH", h, kh) : ("width", "W", "KW", w, kw)
        let span = input + 2 * pad - size
        let arithmetic = "(\(input) + 2·\(pad) − \(size)) / \(stride) + 1"
        guard span >= 0 else {
            let needed = (size - input + 1) / 2
            let fix = needed < min(kh, kw) ? "use a smaller kernel or pad=\(needed)" : "use a smaller kernel"
            throw context.error(
                "on \(context.input): the \(kh)x\(kw) kernel does not fit the input \(axis): \(arithmetic) is below 1",
                hint: "\(fix), so that \(k) ≤ \(dim) + 2·pad")
        }
        // Like PyTorch, the output side is ⌊span / stride⌋ + 1; the last (span mod stride) rows of the padded
        // input then take part in no window. That is accepted only when those rows are all padding (at most
        // `pad` of them), so no input value is silently ignored.
        let unused = span % stride
        guard unused <= pad else {
            // Suggest the smallest pad (below the kernel size) that leaves no input row or column unused, or
            // stride 1.
            let goodPad = (0..<min(kh, kw)).first { p in
                let (spanH, spanW) = (h + 2 * p - kh, w + 2 * p - kw)
                return spanH >= 0 && spanW >= 0 && spanH % stride <= p && spanW % stride <= p
            }
            let example = goodPad.map { "e.g. pad=\($0)" } ?? "e.g. stride=1"
            throw context.error(
                "on \(context.input): output \(axis) \(arithmetic) is not a whole number: the last \(unused - pad) input "
                    + (vertical ? "row" : "column") + (unused - pad == 1 ? "" : "s") + " would be ignored",
                hint: "choose pad or stride so that stride divides \(dim) + 2·pad − \(k) (here \(span)) up to the padding, \(example)")
        }
        return span / stride + 1
    }

    /// The product of `factors`, or an error naming `what` when it exceeds `limit` (by default 2^31 elements:
    /// kernels index with `int`).
    static func checkedProduct(
        _ factors: [Int], _ context: LayerContext, _ what: String,
        limit: Int = ShapeInference.largestTensor
    ) throws -> Int {
        var product = 1
        for factor in factors {
            let (next, overflow) = product.multipliedReportingOverflow(by: factor)
            guard !overflow, next <= limit else {
                throw context.error(
                    "on \(context.input): \(what) is too large (more than \(limit == Int.max ? "2^63" : "2^31"))",
                    hint: "use a smaller batch, input or kernel")
            }
            product = next
        }
        return product
    }
}
