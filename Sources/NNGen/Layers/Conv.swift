// conv: 2-D convolution (cross-correlation) on [N, C, H, W] with stride, zero padding, dilation and groups,
// as PyTorch's nn.Conv2d.

extension LayerDefinition {
    /// `conv NAME filters=F size=K|KHxKW [stride=1] [pad=0] [dilation=1] [groups=1] [bias=true] [init=he]`:
    /// `[N, C, H, W] → [N, F, OH, OW]`, weight `[F, C/G, KH, KW]`, bias `[F]` (none with `bias=false`).
    /// Stride, pad and dilation take one value or `HxW`.
    ///
    /// ```
    /// OH = ⌊(H + 2·padH − dilH·(KH − 1) − 1) / strideH⌋ + 1      (PyTorch's rule; OW likewise)
    /// out[n, f, oy, ox] = b[f] + Σ_{c in f's group, ky, kx} x[n, c, oy·strideH − padH + ky·dilH,
    ///                                                          ox·strideW − padW + kx·dilW]·W[f, c − g·C/G, ky, kx]
    /// ```
    /// Filters f of group g = ⌊f / (F/G)⌋ read channels g·C/G ..< (g + 1)·C/G (groups = C = F: depthwise).
    /// When the floor leaves input rows or columns out of every window, `nngen check` warns and names the pad
    /// that would use them. The kernel lowers each sample to a `(C·KH·KW [+ 1], OH·OW)` matrix (im2col;
    /// the extra row of ones gives db) in one of min(N, 8) slots (`col`), one per task, and makes it again
    /// from x in backward rather than keeping the batch's; backward turns each sample's input gradient back
    /// from such a matrix (`dcol`), one per group of samples that one thread handles (min(N, 8) of them),
    /// and uses transposed copies of the output gradient (`dout_t`; none when col has fewer rows than there are
    /// filters, at most 24: the weight gradient's GEMM then transposes dout in its packing) and of dW and db
    /// (`dweight_t`).
    public static let conv = LayerDefinition(
        keyword: "conv",
        summary: "2-D convolution: F filters over [N, C, H, W] with stride, zero padding, dilation and groups",
        attributes: [
            AttributeSpec("filters", .integer(min: 1), "output channels F"),
            AttributeSpec("size", .size2D, "kernel size K (square) or KHxKW"),
            AttributeSpec("stride", .pair(min: 1), default: .size(1, 1), "step between output positions: S or SHxSW"),
            AttributeSpec("pad", .pair(min: 0), default: .size(0, 0), "zero rows and columns added on every side: P or PHxPW"),
            AttributeSpec("dilation", .pair(min: 1), default: .size(1, 1), "spacing of the kernel taps: D or DHxDW"),
            AttributeSpec("groups", .integer(min: 1), default: .integer(1), "channel groups G (C and F divisible by G)"),
            AttributeSpec("bias", .boolean, default: .boolean(true), "whether the layer adds a bias per filter"),
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
            let stride = context.attributes.size("stride")
            let pad = context.attributes.size("pad")
            let dilation = context.attributes.size("dilation")
            let groups = context.attributes.int("groups")
            let bias = context.attributes.bool("bias")
            guard c % groups == 0, f % groups == 0 else {
                throw context.error(
                    "on \(shape): groups=\(groups) must divide both the \(c) input channels and the \(f) filters",
                    attribute: "groups",
                    hint: "use a common divisor of \(c) and \(f)" + (c == f ? ", e.g. groups=\(c) (depthwise)" : ""))
            }
            var warnings: [Diagnostic] = []
            let (oh, ow) = try context.windowOutput(
                kernel: (kh, kw), stride: stride, pad: pad, dilation: dilation, warnings: &warnings)
            let (cg, fg) = (c / groups, f / groups)
            let ckk = try checkedProduct([c, kh, kw], context, "the kernel \(c)x\(kh)x\(kw)")
            let ckkg = ckk / groups
            let colRows = ckk + (bias ? 1 : 0)
            let slots = min(n, convInputGradientSlots)
            // When col has fewer rows than dout, and few enough that the weight gradient's GEMM is at most about
            // three row tiles (each of its tasks transposes all of dout), that GEMM reads dout through its
            // transposing pack instead of a transposed copy of dout (templates/conv.c, DOUT_IN_PACK). Intel Xeon,
            // fashion_resnet's 1 × 1 projections, backward: 17 rows 386 → 284 µs, but 33 rows (5 tasks with
            // AVX-512, 6 with AVX2) 254 → 202 on one thread, 97 → 103 on two, 281 → 300 with AVX2.
            let doutInPack = colRows < f && colRows <= 24
            // Forward with stride 1 reads a zero-padded copy of each sample (C, PH, PW) in place of its im2col
            // matrix (templates/conv.c, WINDOW) where that matrix is more than twice what the window way
            // writes instead: the copy (C·IH·IW) and the output rows it copies out (F·OH·OW). Not W2's first
            // layer (1 channel: 10 rows of col, against 16 filters' outputs). fashion_resnet's 3 × 3 convs,
            // Intel Xeon (family 6 model 207), 1 thread, forward: 16 channels at 28 × 28 1.61–1.70 → 1.04–1.09
            // ms, 32 at 14 × 14 1.47–1.51 → 0.94–0.97, 64 at 7 × 7 1.41–1.45 → 1.01–1.04 (AVX2 build 2.28 → 1.86,
            // 2.20 → 1.77, 2.17 → 1.93).
            let (ph, pw) = (h + 2 * pad.0, w + 2 * pad.1)
            let imageSize = try checkedProduct([c, h, w], context, "the input image")
            let outputImage = try checkedProduct([f, oh, ow], context, "the output image")
            let colSize = try checkedProduct([colRows, oh, ow], context, "the im2col matrix")
            let window = stride == (1, 1) && colSize / 2 > imageSize + outputImage
            let windowSlack = (kw - 1) * dilation.1 + 16
            let windowSize =
                try checkedProduct([c, ph, pw], context, "the padded image")
                + windowSlack + (pw > ow ? try checkedProduct([f, oh, pw], context, "the wide output") : 0)
            let colSlot = window ? max(colSize, windowSize) : colSize
            let columns = try checkedProduct(
                [slots, colSlot], context, "the im2col scratch array (min(N, 8) slots of (C·KH·KW + 1)·OH·OW)")
            let gradientColumns = try checkedProduct([slots, ckk, oh, ow], context, "the col2im scratch array")
            let outputCount = try checkedProduct([n, f, oh, ow], context, "the output")
            // 2·N·F·OH·OW·(C/G)·KH·KW (multiply-adds) + N·F·OH·OW (bias)
            let flops = try checkedProduct([outputCount, 2 * ckkg + (bias ? 1 : 0)], context, "the FLOP count", limit: Int.max)
            var parameters = [
                TensorSpec("weight", [f, cg, kh, kw], context.attributes.initializer("init"), fanIn: ckkg, fanOut: fg * kh * kw)
            ]
            if bias { parameters.append(TensorSpec("bias", [f], .zeros)) }
            return LayerInstance(
                output: [n, f, oh, ow],
                parameters: parameters,
                saved: [
                    SavedSpec("col", count: columns), SavedSpec("dcol", count: gradientColumns, backwardOnly: true),
                    SavedSpec("dout_t", count: doutInPack ? 0 : outputCount, backwardOnly: true),
                    SavedSpec("dweight_t", count: ckkg * f + (bias ? f : 0), backwardOnly: true),
                ],
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("C", c, "input channels"),
                    TemplateConstant("IH", h, "input height"),
                    TemplateConstant("IW", w, "input width"),
                    TemplateConstant("F", f, "filters (output channels)"),
                    TemplateConstant("KH", kh, "kernel height"),
                    TemplateConstant("KW", kw, "kernel width"),
                    TemplateConstant("STRIDE_H", stride.0, "vertical step between output positions"),
                    TemplateConstant("STRIDE_W", stride.1, "horizontal step"),
                    TemplateConstant("PAD_H", pad.0, "zero rows above and below"),
                    TemplateConstant("PAD_W", pad.1, "zero columns left and right"),
                    TemplateConstant("DIL_H", dilation.0, "vertical spacing of the kernel taps"),
                    TemplateConstant("DIL_W", dilation.1, "horizontal spacing"),
                    TemplateConstant("GROUPS", groups, "channel groups"),
                    TemplateConstant("CG", cg, "input channels per group"),
                    TemplateConstant("FG", fg, "filters per group"),
                    TemplateConstant("HAS_BIAS", bias ? 1 : 0, "1: out = b + W·x; 0: no bias"),
                    TemplateConstant("OH", oh, "output height"),
                    TemplateConstant("OW", ow, "output width"),
                    TemplateConstant("CKK", ckk, "C·KH·KW: rows of the im2col matrix (without the row of ones)"),
                    TemplateConstant("CKKG", ckkg, "(C/G)·KH·KW: columns of Wm, rows of one group's im2col block"),
                    TemplateConstant("OHW", oh * ow, "OH·OW: output positions per channel"),
                    TemplateConstant("SLOTS", slots, "col and dcol matrices: one per task"),
                    TemplateConstant(
                        "DOUT_IN_PACK", doutInPack ? 1 : 0,
                        "1: the dW product transposes dout in its B pack (fewer col rows than filters, at most 24)"),
                    TemplateConstant("WINDOW", window ? 1 : 0, "1: forward reads a padded copy of x in place of col"),
                    TemplateConstant("PH", ph, "IH + 2·PAD_H: rows of the padded copy"),
                    TemplateConstant("PW", pw, "IW + 2·PAD_W: columns of the padded copy"),
                    TemplateConstant("WIN_SLACK", windowSlack, "(KW − 1)·DIL_W + 16: read past the padded copy"),
                    TemplateConstant("COL_SLOT", colSlot, "elements of one col slot"),
                ],
                forwardFLOPs: flops, warnings: warnings)
        })

    /// Tasks of a conv kernel that each need their own im2col matrix (`col`, `dcol`): groups of samples in
    /// forward and for the input gradient, row ranges of the weight gradient.
    static let convInputGradientSlots = 8

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
