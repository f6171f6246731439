// Pooling: the window geometry maxpool and avgpool share — size, stride (default: the size), padding and
// PyTorch's ceil_mode — and the template constants it gives.

extension LayerDefinition {
    /// The attributes of a pooling layer: `size=K|KHxKW [stride=size] [pad=0] [ceil=false]`.
    static let poolingAttributes: [AttributeSpec] = [
        AttributeSpec("size", .size2D, "window size K (square) or KHxKW"),
        // The default 0 is a marker for "the window size"; a written stride must be ≥ 1.
        AttributeSpec(
            "stride", .pair(min: 1), default: .size(0, 0),
            "step between windows, S or SHxSW; default: the window size (KH down, KW across)"),
        AttributeSpec("pad", .pair(min: 0), default: .size(0, 0), "padding on every side, P or PHxPW, at most half the window"),
        AttributeSpec("ceil", .boolean, default: .boolean(false), "round the output size up (PyTorch's ceil_mode)"),
    ]

    /// The output shape and the `#define`s of a pooling window over the context's `[N, C, H, W]` input, with
    /// PyTorch's rules: pad ≤ size/2, OH = ⌊(H + 2·PH − KH) / SH⌋ + 1 (⌈⌉ with ceil=true, the last window
    /// starting inside the input or its left padding). Warnings for input rows no window reads.
    static func poolingWindow(_ context: LayerContext, warnings: inout [Diagnostic]) throws -> (
        output: TensorShape, constants: [TemplateConstant], windowSize: Int
    ) {
        let shape = context.input
        guard shape.rank == 4 else {
            throw context.error(
                "expects images [N, C, H, W], got \(shape)",
                hint: "\(context.kind) works on images: give the input as [N, C, H, W] and pool before any affine layer, "
                    + "which flattens to [N, D]")
        }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (kh, kw) = context.attributes.size("size")
        let given = context.attributes.isGiven("stride")
        let (sh, sw) = given ? context.attributes.size("stride") : (kh, kw)
        let (ph, pw) = context.attributes.size("pad")
        guard ph <= kh / 2, pw <= kw / 2 else {
            throw context.error(
                "pad=\(ph == pw ? "\(ph)" : "\(ph)x\(pw)") is more than half the \(kh)x\(kw) window: a window could see only padding",
                attribute: "pad", hint: "use pad ≤ \(kh / 2 == kw / 2 ? "\(kh / 2)" : "\(kh / 2)x\(kw / 2)") (as PyTorch requires)")
        }
        let ceil = context.attributes.bool("ceil")
        let (oh, ow) = try context.windowOutput(
            kernel: (kh, kw), stride: (sh, sw), pad: (ph, pw), ceil: ceil, padLimit: (kh / 2, kw / 2), warnings: &warnings)
        let constants = [
            TemplateConstant("N", n, "batch"),
            TemplateConstant("C", c, "channels"),
            TemplateConstant("H", h, "input height"),
            TemplateConstant("W", w, "input width"),
            TemplateConstant("KH", kh, "window height"),
            TemplateConstant("KW", kw, "window width"),
            TemplateConstant("SH", sh, "vertical step"),
            TemplateConstant("SW", sw, "horizontal step"),
            TemplateConstant("PH", ph, "padding above and below"),
            TemplateConstant("PW", pw, "padding left and right"),
            TemplateConstant("OH", oh, "output height"),
            TemplateConstant("OW", ow, "output width"),
        ]
        return ([n, c, oh, ow], constants, kh * kw)
    }
}
