// Reference 2-D convolution (cross-correlation, as in every deep-learning framework) with stride and
// zero padding, written as direct nested loops, forward and backward.
import Foundation

extension Reference {
    /// Output size of a convolution or pooling along one axis (floor division, as PyTorch).
    ///
    /// ```
    /// out = (in + 2 pad − kernel) / stride + 1
    /// ```
    static func convOutputSize(input: Int, kernel: Int, stride: Int, pad: Int) -> Int {
        precondition(stride > 0 && pad >= 0, "conv: stride \(stride) must be > 0 and pad \(pad) ≥ 0")
        precondition(
            input + 2 * pad >= kernel,
            "conv: kernel \(kernel) larger than padded input \(input + 2 * pad)")
        return (input + 2 * pad - kernel) / stride + 1
    }

    /// The hyperparameters of a convolution beyond its weights: PyTorch's nn.Conv2d stride, padding,
    /// dilation and groups, each (height, width).
    struct ConvGeometry {
        var stride = (1, 1)
        var pad = (0, 0)
        var dilation = (1, 1)
        var groups = 1
    }

    /// Output size along one axis, PyTorch's rule: ⌊(in + 2·pad − dilation·(kernel − 1) − 1) / stride⌋ + 1.
    static func windowOutputSize(input: Int, kernel: Int, stride: Int, pad: Int, dilation: Int = 1) -> Int {
        let span = input + 2 * pad - dilation * (kernel - 1) - 1
        precondition(span >= 0, "window \(kernel) (dilation \(dilation)) larger than padded input \(input + 2 * pad)")
        return span / stride + 1
    }

    /// Convolution forward: x [N, C, H, W], W [F, C/G, KH, KW], b [F] or nil → out [N, F, OH, OW].
    ///
    /// ```
    /// out[n, f, oy, ox] = b[f] + Σ_{c < C/G, ky, kx} x[n, g·C/G + c, oy·SH − PH + ky·DH, ox·SW − PW + kx·DW]
    ///                                               · W[f, c, ky, kx]          with g = ⌊f / (F/G)⌋
    /// ```
    /// where x outside [0, H) × [0, W) is zero (padding).
    static func convForward(x: RefTensor, w: RefTensor, b: RefTensor?, geometry: ConvGeometry) -> RefTensor {
        precondition(x.shape.count == 4 && w.shape.count == 4, "conv: x \(x.shape), W \(w.shape) must be 4-D")
        let (n, c, h, wi) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (f, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let g = geometry
        precondition(cg * g.groups == c && f % g.groups == 0, "conv: W \(w.shape) and x \(x.shape) do not fit \(g.groups) groups")
        let fg = f / g.groups
        let oh = windowOutputSize(input: h, kernel: kh, stride: g.stride.0, pad: g.pad.0, dilation: g.dilation.0)
        let ow = windowOutputSize(input: wi, kernel: kw, stride: g.stride.1, pad: g.pad.1, dilation: g.dilation.1)
        var out = RefTensor(zeros: [n, f, oh, ow])
        for ni in 0..<n {
            for fi in 0..<f {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum = b?[fi] ?? 0
                        for ci in 0..<cg {
                            let channel = (fi / fg) * cg + ci
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * g.stride.0 - g.pad.0 + ky * g.dilation.0
                                    let ix = ox * g.stride.1 - g.pad.1 + kx * g.dilation.1
                                    if iy < 0 || iy >= h || ix < 0 || ix >= wi { continue }
                                    sum += x[((ni * c + channel) * h + iy) * wi + ix] * w[((fi * cg + ci) * kh + ky) * kw + kx]
                                }
                            }
                        }
                        out[((ni * f + fi) * oh + oy) * ow + ox] = sum
                    }
                }
            }
        }
        return out
    }

    /// Convolution backward given dout [N, F, OH, OW]: every term of the forward sum, reversed.
    ///
    /// ```
    /// for every (n, f, oy, ox, c, ky, kx) with the input position (iy, ix) of the forward inside x:
    ///   dx[n, g·C/G + c, iy, ix]  += dout[n, f, oy, ox] · W[f, c, ky, kx]
    ///   dW[f, c, ky, kx]          += dout[n, f, oy, ox] · x[n, g·C/G + c, iy, ix]
    /// db[f] = Σ_{n, oy, ox} dout[n, f, oy, ox]
    /// ```
    static func convBackward(
        dout: RefTensor, x: RefTensor, w: RefTensor, geometry: ConvGeometry
    ) -> (dx: RefTensor, dw: RefTensor, db: RefTensor) {
        let (n, c, h, wi) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (f, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let g = geometry
        let fg = f / g.groups
        let oh = windowOutputSize(input: h, kernel: kh, stride: g.stride.0, pad: g.pad.0, dilation: g.dilation.0)
        let ow = windowOutputSize(input: wi, kernel: kw, stride: g.stride.1, pad: g.pad.1, dilation: g.dilation.1)
        precondition(dout.shape == [n, f, oh, ow], "conv backward: dout \(dout.shape), expected \([n, f, oh, ow])")
        var dx = RefTensor(zeros: x.shape)
        var dw = RefTensor(zeros: w.shape)
        var db = RefTensor(zeros: [f])
        for ni in 0..<n {
            for fi in 0..<f {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let grad = dout[((ni * f + fi) * oh + oy) * ow + ox]
                        db[fi] += grad
                        for ci in 0..<cg {
                            let channel = (fi / fg) * cg + ci
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * g.stride.0 - g.pad.0 + ky * g.dilation.0
                                    let ix = ox * g.stride.1 - g.pad.1 + kx * g.dilation.1
                                    if iy < 0 || iy >= h || ix < 0 || ix >= wi { continue }
                                    let xIndex = ((ni * c + channel) * h + iy) * wi + ix
                                    let wIndex = ((fi * cg + ci) * kh + ky) * kw + kx
                                    dx[xIndex] += grad * w[wIndex]
                                    dw[wIndex] += grad * x[xIndex]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw, db)
    }

    /// A square stride and pad, one group, no dilation.
    static func convForward(x: RefTensor, w: RefTensor, b: RefTensor, stride: Int, pad: Int) -> RefTensor {
        convForward(x: x, w: w, b: b, geometry: ConvGeometry(stride: (stride, stride), pad: (pad, pad)))
    }

    static func convBackward(
        dout: RefTensor, x: RefTensor, w: RefTensor, stride: Int, pad: Int
    ) -> (dx: RefTensor, dw: RefTensor, db: RefTensor) {
        convBackward(dout: dout, x: x, w: w, geometry: ConvGeometry(stride: (stride, stride), pad: (pad, pad)))
    }
}
