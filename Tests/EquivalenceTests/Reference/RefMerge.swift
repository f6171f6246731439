// Reference merge layers: elementwise sum and concatenation along dimension 1, from the definitions.

extension Reference {
    /// out = Σₖ xₖ (inputs of one shape); ∂L/∂xₖ = dout for every k.
    static func addForward(_ inputs: [RefTensor]) -> RefTensor {
        var out = [Double](repeating: 0, count: inputs[0].count)
        for x in inputs {
            for i in out.indices { out[i] += x.data[i] }
        }
        return RefTensor(shape: inputs[0].shape, data: out)
    }

    /// torch.cat(inputs, dim=1) for [N, Cₖ, ...]: out[n, c, ...] = x_k[n, c − offset_k, ...] where
    /// offset_k = C₀ + ... + C_{k−1}; the backward slices dout the same way.
    static func concat(_ inputs: [RefTensor]) -> (RefTensor, (RefTensor) -> [RefTensor]) {
        let n = inputs[0].shape[0]
        let rest = Array(inputs[0].shape.dropFirst(2))
        let inner = rest.reduce(1, *)
        let channels = inputs.map { $0.shape[1] }
        let total = channels.reduce(0, +)
        var out = [Double](repeating: 0, count: n * total * inner)
        var offset = 0
        for (k, x) in inputs.enumerated() {
            for b in 0..<n {
                for c in 0..<channels[k] {
                    for i in 0..<inner { out[(b * total + offset + c) * inner + i] = x.data[(b * channels[k] + c) * inner + i] }
                }
            }
            offset += channels[k]
        }
        let backward = { (dout: RefTensor) -> [RefTensor] in
            var offset = 0
            return inputs.enumerated().map { k, x in
                var dx = [Double](repeating: 0, count: x.count)
                for b in 0..<n {
                    for c in 0..<channels[k] {
                        for i in 0..<inner { dx[(b * channels[k] + c) * inner + i] = dout.data[(b * total + offset + c) * inner + i] }
                    }
                }
                offset += channels[k]
                return RefTensor(shape: x.shape, data: dx)
            }
        }
        return (RefTensor(shape: [n, total] + rest, data: out), backward)
    }
}
