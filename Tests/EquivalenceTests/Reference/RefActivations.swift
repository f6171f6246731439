// Reference elementwise activations (ReLU, sigmoid, tanh) and inverted dropout, forward and backward.
import Foundation

extension Reference {
    /// ReLU forward, elementwise on any shape.
    ///
    /// ```
    /// out = max(0, x)
    /// ```
    static func reluForward(x: RefTensor) -> RefTensor {
        var out = x
        for i in 0..<x.count {
            out[i] = x[i] > 0 ? x[i] : 0
        }
        return out
    }

    /// ReLU backward; the gradient is 0 where x ≤ 0 (including x = 0).
    ///
    /// ```
    /// dx = dout * (x > 0 ? 1 : 0)
    /// ```
    static func reluBackward(dout: RefTensor, x: RefTensor) -> RefTensor {
        precondition(dout.shape == x.shape, "relu backward: dout \(dout.shape) vs x \(x.shape)")
        var dx = RefTensor(zeros: x.shape)
        for i in 0..<x.count {
            dx[i] = x[i] > 0 ? dout[i] : 0
        }
        return dx
    }

    /// Sigmoid forward, elementwise, evaluated without overflow for large |x|.
    ///
    /// ```
    /// out = 1 / (1 + exp(-x))            for x ≥ 0
    /// out = exp(x) / (1 + exp(x))        for x < 0   (same value)
    /// ```
    static func sigmoidForward(x: RefTensor) -> RefTensor {
        var out = x
        for i in 0..<x.count {
            if x[i] >= 0 {
                out[i] = 1 / (1 + exp(-x[i]))
            } else {
                let e = exp(x[i])
                out[i] = e / (1 + e)
            }
        }
        return out
    }

    /// Sigmoid backward from the forward output.
    ///
    /// ```
    /// dx = dout * out * (1 - out)
    /// ```
    static func sigmoidBackward(dout: RefTensor, out: RefTensor) -> RefTensor {
        precondition(
            dout.shape == out.shape, "sigmoid backward: dout \(dout.shape) vs out \(out.shape)")
        var dx = RefTensor(zeros: out.shape)
        for i in 0..<out.count {
            dx[i] = dout[i] * out[i] * (1 - out[i])
        }
        return dx
    }

    /// Tanh forward, elementwise.
    ///
    /// ```
    /// out = tanh(x)
    /// ```
    static func tanhForward(x: RefTensor) -> RefTensor {
        var out = x
        for i in 0..<x.count {
            out[i] = tanh(x[i])
        }
        return out
    }

    /// Tanh backward from the forward output.
    ///
    /// ```
    /// dx = dout * (1 - out²)
    /// ```
    static func tanhBackward(dout: RefTensor, out: RefTensor) -> RefTensor {
        precondition(dout.shape == out.shape, "tanh backward: dout \(dout.shape) vs out \(out.shape)")
        var dx = RefTensor(zeros: out.shape)
        for i in 0..<out.count {
            dx[i] = dout[i] * (1 - out[i] * out[i])
        }
        return dx
    }

    /// Inverted dropout forward (train mode) with a given 0/1 mask and keep probability p.
    ///
    /// ```
    /// out = x * mask / p
    /// ```
    /// In test mode dropout is the identity; no function is needed for it.
    static func dropoutForward(x: RefTensor, mask: RefTensor, keep p: Double) -> RefTensor {
        precondition(mask.shape == x.shape, "dropout: mask \(mask.shape) vs x \(x.shape)")
        precondition(p > 0 && p <= 1, "dropout: keep probability \(p) must be in (0, 1]")
        var out = x
        for i in 0..<x.count {
            out[i] = x[i] * mask[i] / p
        }
        return out
    }

    /// Inverted dropout backward.
    ///
    /// ```
    /// dx = dout * mask / p
    /// ```
    static func dropoutBackward(dout: RefTensor, mask: RefTensor, keep p: Double) -> RefTensor {
        precondition(
            mask.shape == dout.shape, "dropout backward: mask \(mask.shape) vs dout \(dout.shape)")
        var dx = dout
        for i in 0..<dout.count {
            dx[i] = dout[i] * mask[i] / p
        }
        return dx
    }
}

extension Reference {
    /// Leaky ReLU (PyTorch's nn.LeakyReLU): out = x > 0 ? x : slope·x; the gradient at x ≤ 0 is slope.
    static func leakyReluForward(x: RefTensor, slope: Double) -> RefTensor {
        RefTensor(shape: x.shape, data: x.data.map { $0 > 0 ? $0 : slope * $0 })
    }

    static func leakyReluBackward(dout: RefTensor, x: RefTensor, slope: Double) -> RefTensor {
        RefTensor(shape: x.shape, data: zip(dout.data, x.data).map { g, v in v > 0 ? g : slope * g })
    }

    /// GELU, exact: out = x·Φ(x) with Φ(x) = ½(1 + erf(x/√2)); d/dx = Φ(x) + x·e^(−x²/2)/√(2π).
    static func geluForward(x: RefTensor) -> RefTensor {
        RefTensor(shape: x.shape, data: x.data.map { $0 * 0.5 * (1 + erf($0 / 2.0.squareRoot())) })
    }

    static func geluBackward(dout: RefTensor, x: RefTensor) -> RefTensor {
        RefTensor(
            shape: x.shape,
            data: zip(dout.data, x.data).map { g, v in
                g * (0.5 * (1 + erf(v / 2.0.squareRoot())) + v * exp(-v * v / 2) / (2 * Double.pi).squareRoot())
            })
    }
}
