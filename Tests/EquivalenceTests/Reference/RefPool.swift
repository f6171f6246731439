// Reference max pooling (K×K window, stride S, no padding), forward and backward.
import Foundation

extension Reference {
    /// Max-pool forward on x [N, C, H, W] → out [N, C, OH, OW], plus the flat index into x of each
    /// window's maximum (what backward routes the gradient to).
    ///
    /// ```
    /// OH = (H − K) / S + 1,   OW = (W − K) / S + 1
    /// out[n, c, oy, ox] = max_{ky, kx < K} x[n, c, oy·S + ky, ox·S + kx]
    /// argmax: the first maximum in row-major window order (ky outer, kx inner; ties keep the first)
    /// ```
    static func maxPoolForward(
        x: RefTensor, size k: Int, stride s: Int
    ) -> (out: RefTensor, argmax: [Int]) {
        precondition(x.shape.count == 4, "maxpool: x must be [N, C, H, W], got \(x.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = convOutputSize(input: h, kernel: k, stride: s, pad: 0)
        let ow = convOutputSize(input: w, kernel: k, stride: s, pad: 0)
        var out = RefTensor(zeros: [n, c, oh, ow])
        var argmax = [Int](repeating: 0, count: n * c * oh * ow)
        for ni in 0..<n {
            for ci in 0..<c {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var best = -Double.infinity
                        var bestIndex = -1
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let index = ((ni * c + ci) * h + oy * s + ky) * w + ox * s + kx
                                if bestIndex < 0 || x[index] > best {  // strict: ties keep the first
                                    best = x[index]
                                    bestIndex = index
                                }
                            }
                        }
                        let o = ((ni * c + ci) * oh + oy) * ow + ox
                        out[o] = best
                        argmax[o] = bestIndex
                    }
                }
            }
        }
        return (out, argmax)
    }

    /// Max-pool backward: each dout goes to its window's (first) maximum; overlapping windows add.
    ///
    /// ```
    /// dx = 0;   dx[argmax[o]] += dout[o]   for every output element o
    /// ```
    static func maxPoolBackward(
        dout: RefTensor, x: RefTensor, size k: Int, stride s: Int
    ) -> RefTensor {
        let (out, argmax) = maxPoolForward(x: x, size: k, stride: s)
        precondition(
            dout.shape == out.shape, "maxpool backward: dout \(dout.shape), expected \(out.shape)")
        var dx = RefTensor(zeros: x.shape)
        for o in 0..<dout.count {
            dx[argmax[o]] += dout[o]
        }
        return dx
    }
}
