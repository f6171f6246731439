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

    /// Convolution forward: x [N, C, H, W], W [F, C, KH, KW], b [F] → out [N, F, OH, OW].
    ///
    /// ```
    /// OH = (H + 2P − KH) / S + 1,   OW = (W + 2P − KW) / S + 1
    /// out[n, f, oy, ox] = b[f] + Σ_{c, ky, kx} x[n, c, oy·S − P + ky, ox·S − P + kx] · W[f, c, ky, kx]
    /// ```
    /// where x outside [0, H) × [0, W) is zero (padding).
    static func convForward(
        x: RefTensor, w: RefTensor, b: RefTensor, stride: Int, pad: Int
    ) -> RefTensor {
        precondition(
            x.shape.count == 4 && w.shape.count == 4, "conv: x \(x.shape), W \(w.shape) must be 4-D")
        let (n, c, h, wi) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (f, kc, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        precondition(kc == c, "conv: W has \(kc) input channels, x has \(c)")
        precondition(b.shape == [f], "conv: b \(b.shape), expected [\(f)]")
        let oh = convOutputSize(input: h, kernel: kh, stride: stride, pad: pad)
        let ow = convOutputSize(input: wi, kernel: kw, stride: stride, pad: pad)
        var out = RefTensor(zeros: [n, f, oh, ow])
        for ni in 0..<n {
            for fi in 0..<f {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum = b[fi]
                        for ci in 0..<c {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * stride - pad + ky
                                    let ix = ox * stride - pad + kx
                                    if iy < 0 || iy >= h || ix < 0 || ix >= wi { continue }
                                    sum +=
                                        x[((ni * c + ci) * h + iy) * wi + ix] * w[((fi * c + ci) * kh + ky) * kw + kx]
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
    /// for every (n, f, oy, ox, c, ky, kx) with iy = oy·S − P + ky, ix = ox·S − P + kx inside x:
    ///   dx[n, c, iy, ix]  += dout[n, f, oy, ox] · W[f, c, ky, kx]
    ///   dW[f, c, ky, kx]  += dout[n, f, oy, ox] · x[n, c, iy, ix]
    /// db[f] = Σ_{n, oy, ox} dout[n, f, oy, ox]
    /// ```
    static func convBackward(
        dout: RefTensor, x: RefTensor, w: RefTensor, stride: Int, pad: Int
    ) -> (dx: RefTensor, dw: RefTensor, db: RefTensor) {
        let (n, c, h, wi) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (f, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = convOutputSize(input: h, kernel: kh, stride: stride, pad: pad)
        let ow = convOutputSize(input: wi, kernel: kw, stride: stride, pad: pad)
        precondition(
            dout.shape == [n, f, oh, ow], "conv backward: dout \(dout.shape), expected \([n, f, oh, ow])")
        var dx = RefTensor(zeros: x.shape)
        var dw = RefTensor(zeros: w.shape)
        var db = RefTensor(zeros: [f])
        for ni in 0..<n {
            for fi in 0..<f {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let g = dout[((ni * f + fi) * oh + oy) * ow + ox]
                        db[fi] += g
                        for ci in 0..<c {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * stride - pad + ky
                                    let ix = ox * stride - pad + kx
                                    if iy < 0 || iy >= h || ix < 0 || ix >= wi { continue }
                                    let xIndex = ((ni * c + ci) * h + iy) * wi + ix
                                    let wIndex = ((fi * c + ci) * kh + ky) * kw + kx
                                    dx[xIndex] += g * w[wIndex]
                                    dw[wIndex] += g * x[xIndex]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw, db)
    }
}
