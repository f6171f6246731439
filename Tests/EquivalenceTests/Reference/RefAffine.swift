// Reference affine (fully connected) layer: out = x W + b, and its backward.
import Foundation

extension Reference {
    /// Affine forward on x [N, D] (any trailing shape is flattened to D), W [D, M], b [M].
    ///
    /// ```
    /// out[n, m] = Σ_d x[n, d] * W[d, m] + b[m]          out is [N, M]
    /// ```
    static func affineForward(x: RefTensor, w: RefTensor, b: RefTensor) -> RefTensor {
        let n = x.shape[0]
        let d = x.count / max(n, 1)
        precondition(w.shape.count == 2 && w.shape[0] == d, "affine: W \(w.shape) vs x \(x.shape)")
        let m = w.shape[1]
        precondition(b.shape == [m], "affine: b \(b.shape), expected [\(m)]")
        var out = RefTensor(zeros: [n, m])
        for i in 0..<n {
            for j in 0..<m {
                var sum = b[j]
                for k in 0..<d {
                    sum += x[i * d + k] * w[k * m + j]
                }
                out[i * m + j] = sum
            }
        }
        return out
    }

    /// Affine backward: gradients of the loss given dout = ∂L/∂out [N, M].
    ///
    /// ```
    /// dx[n, d] = Σ_m dout[n, m] * W[d, m]      (dout Wᵀ, reshaped to x.shape)
    /// dW[d, m] = Σ_n x[n, d] * dout[n, m]      (xᵀ dout)
    /// db[m]    = Σ_n dout[n, m]
    /// ```
    static func affineBackward(
        dout: RefTensor, x: RefTensor, w: RefTensor
    ) -> (dx: RefTensor, dw: RefTensor, db: RefTensor) {
        let n = x.shape[0]
        let d = x.count / max(n, 1)
        let m = w.shape[1]
        precondition(
            dout.shape == [n, m], "affine backward: dout \(dout.shape), expected [\(n), \(m)]")
        var dx = RefTensor(zeros: x.shape)
        var dw = RefTensor(zeros: w.shape)
        var db = RefTensor(zeros: [m])
        for i in 0..<n {
            for k in 0..<d {
                var sum = 0.0
                for j in 0..<m {
                    sum += dout[i * m + j] * w[k * m + j]
                }
                dx[i * d + k] = sum
            }
        }
        for k in 0..<d {
            for j in 0..<m {
                var sum = 0.0
                for i in 0..<n {
                    sum += x[i * d + k] * dout[i * m + j]
                }
                dw[k * m + j] = sum
            }
        }
        for j in 0..<m {
            var sum = 0.0
            for i in 0..<n {
                sum += dout[i * m + j]
            }
            db[j] = sum
        }
        return (dx, dw, db)
    }
}
