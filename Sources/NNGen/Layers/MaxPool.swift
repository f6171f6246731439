// maxpool: the largest value of each KH×KW window of every channel, no padding.

extension LayerDefinition {
    /// `maxpool NAME size=K|KHxKW [stride=S]`: `[N, C, H, W] → [N, C, OH, OW]`, no parameters.
    ///
    /// ```
    /// OH = (H − KH) / SH + 1,   OW = (W − KW) / SW + 1     (whole numbers ≥ 1)
    /// SH = SW = stride when given, otherwise SH = KH and SW = KW (windows side by side)
    /// out[n, c, oy, ox] = max_{ky < KH, kx < KW} x[n, c, oy·SH + ky, ox·SW + kx]
    /// ```
    /// Backward sends each output gradient to the first maximum of its window (row-major order).
    public static let maxpool = LayerDefinition(
        keyword: "maxpool",
        summary: "max over KH×KW windows of each channel, stride = window size unless given, no padding",
        attributes: [
            AttributeSpec("size", .size2D, "window size K (square) or KHxKW"),
            // The default 0 is a marker for "the window size"; a written stride must be ≥ 1.
            AttributeSpec(
                "stride", .integer(min: 1), default: .integer(0),
                "step between windows; default: the window size (KH down, KW across)"),
        ],
        template: "maxpool",
        instantiate: { context in
            let shape = context.input
            guard shape.rank == 4 else {
                throw context.error(
                    "expects images [N, C, H, W], got \(shape)",
                    hint: "maxpool works on images: give the input as [N, C, H, W] and pool before any affine layer, "
                        + "which flattens to [N, D]")
            }
            let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
            let (kh, kw) = context.attributes.size("size")
            let given = context.attributes.isGiven("stride")
            let (sh, sw) = given ? (context.attributes.int("stride"), context.attributes.int("stride")) : (kh, kw)
            guard kh <= h, kw <= w else {
                throw context.error(
                    "on \(shape): the \(kh)x\(kw) window is larger than the \(h)x\(w) input",
                    attribute: "size", hint: "use a window of at most \(h)x\(w), or remove this pooling layer")
            }
            let spans = (h - kh, w - kw)
            for vertical in [true, false] {
                let (axis, dim, k, input, size, span, step) =
                    vertical ? ("height", "H", "KH", h, kh, spans.0, sh) : ("width", "W", "KW", w, kw, spans.1, sw)
                guard span % step != 0 else { continue }
                let whole = largestDivisor(of: gcd(spans.0, spans.1), atMost: min(sh, sw))
                let strideText = given ? "stride \(step)" : "stride \(step) (the window size)"
                throw context.error(
                    "on \(shape): output \(axis) (\(input) − \(size)) / \(step) + 1 is not a whole number",
                    hint: "choose size and stride so that the \(strideText) divides \(dim) − \(k) (here \(span)), "
                        + "e.g. stride=\(whole), or change the layers before so that \(dim) fits")
            }
            let oh = spans.0 / sh + 1
            let ow = spans.1 / sw + 1
            return LayerInstance(
                output: [n, c, oh, ow],
                constants: [
                    TemplateConstant("N", n, "batch"),
                    TemplateConstant("C", c, "channels"),
                    TemplateConstant("H", h, "input height"),
                    TemplateConstant("W", w, "input width"),
                    TemplateConstant("KH", kh, "window height"),
                    TemplateConstant("KW", kw, "window width"),
                    TemplateConstant("SH", sh, "vertical step"),
                    TemplateConstant("SW", sw, "horizontal step"),
                    TemplateConstant("OH", oh, "output height"),
                    TemplateConstant("OW", ow, "output width"),
                ],
                // One comparison per window element.
                forwardFLOPs: n * c * oh * ow * kh * kw)
        })

    /// The greatest common divisor (`gcd(0, b) = b`).
    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// The largest divisor of `n` that is at most `limit` (1 when n is 0 or 1), by trial up to √n.
    private static func largestDivisor(of n: Int, atMost limit: Int) -> Int {
        guard n > 1 else { return 1 }
        var best = 1
        var d = 1
        while d * d <= n {
            if n % d == 0 {
                if d <= limit { best = max(best, d) }
                if n / d <= limit { best = max(best, n / d) }
            }
            d += 1
        }
        return best
    }
}
