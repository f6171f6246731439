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

extension Reference {
    /// The window geometry of PyTorch's MaxPool2d and AvgPool2d: window, stride and pad per axis, ceil_mode.
    struct PoolGeometry {
        var window: (Int, Int)
        var stride: (Int, Int)
        var pad = (0, 0)
        var ceil = false
    }

    /// PyTorch's pooling output size along one axis (pooling_output_shape in ATen):
    /// `⌊(in + 2·pad − k + (ceil ? stride − 1 : 0)) / stride⌋ + 1`, minus one when ceil mode would start the
    /// last window in the right padding.
    static func poolOutputSize(input: Int, kernel: Int, stride: Int, pad: Int, ceil: Bool) -> Int {
        var out = (input + 2 * pad - kernel + (ceil ? stride - 1 : 0)) / stride + 1
        if ceil && (out - 1) * stride >= input + pad { out -= 1 }
        return out
    }

    /// Every window of a pooling over an h×w plane, row-major: its rows [y0, y1) and columns [x0, x1) inside the
    /// plane, and its size with padding (`(hend − hstart)·(wend − wstart)` of ATen's avg_pool2d, before
    /// clipping to the input).
    static func poolWindows(h: Int, w: Int, _ g: PoolGeometry) -> (
        oh: Int, ow: Int, windows: [(y0: Int, y1: Int, x0: Int, x1: Int, padded: Int)]
    ) {
        let oh = poolOutputSize(input: h, kernel: g.window.0, stride: g.stride.0, pad: g.pad.0, ceil: g.ceil)
        let ow = poolOutputSize(input: w, kernel: g.window.1, stride: g.stride.1, pad: g.pad.1, ceil: g.ceil)
        var windows: [(Int, Int, Int, Int, Int)] = []
        for oy in 0..<oh {
            for ox in 0..<ow {
                let hs = oy * g.stride.0 - g.pad.0
                let ws = ox * g.stride.1 - g.pad.1
                let he = min(hs + g.window.0, h + g.pad.0)
                let we = min(ws + g.window.1, w + g.pad.1)
                windows.append((max(hs, 0), min(he, h), max(ws, 0), min(we, w), (he - hs) * (we - ws)))
            }
        }
        return (oh, ow, windows)
    }

    /// Max pooling with PyTorch's geometry; the gradient goes to the first maximum in row-major order.
    static func maxPool(_ x: RefTensor, _ g: PoolGeometry, dout: RefTensor?) -> (out: RefTensor, dx: RefTensor) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow, windows) = poolWindows(h: h, w: w, g)
        var out = RefTensor(zeros: [n, c, oh, ow])
        var dx = RefTensor(zeros: x.shape)
        for plane in 0..<(n * c) {
            for (o, window) in windows.enumerated() {
                var best = plane * h * w + window.y0 * w + window.x0
                for y in window.y0..<window.y1 {
                    for xi in window.x0..<window.x1 where x[plane * h * w + y * w + xi] > x[best] { best = plane * h * w + y * w + xi }
                }
                out[plane * oh * ow + o] = x[best]
                if let dout { dx[best] += dout[plane * oh * ow + o] }
            }
        }
        return (out, dx)
    }

    /// Average pooling with PyTorch's geometry: the window's input sum over its padded size (`countPad`,
    /// count_include_pad=True) or over its input elements; each input element of a window gets dout/divisor.
    static func avgPool(_ x: RefTensor, _ g: PoolGeometry, countPad: Bool, dout: RefTensor?) -> (out: RefTensor, dx: RefTensor) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow, windows) = poolWindows(h: h, w: w, g)
        var out = RefTensor(zeros: [n, c, oh, ow])
        var dx = RefTensor(zeros: x.shape)
        for plane in 0..<(n * c) {
            for (o, window) in windows.enumerated() {
                let divisor = Double(countPad ? window.padded : (window.y1 - window.y0) * (window.x1 - window.x0))
                var sum = 0.0
                for y in window.y0..<window.y1 {
                    for xi in window.x0..<window.x1 { sum += x[plane * h * w + y * w + xi] }
                }
                out[plane * oh * ow + o] = sum / divisor
                guard let dout else { continue }
                for y in window.y0..<window.y1 {
                    for xi in window.x0..<window.x1 { dx[plane * h * w + y * w + xi] += dout[plane * oh * ow + o] / divisor }
                }
            }
        }
        return (out, dx)
    }
}
