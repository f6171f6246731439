// Reference normalization layers: batchnorm ([N, D] and [N, C, H, W], train and test mode),
// layernorm and groupnorm, forward and backward.
//
// All three normalize a set of values by that set's mean and biased variance; they differ only in
// which elements form a set and which γ/β entry an element uses:
//   batchnorm  set = one channel c over (n, h, w)      γ index = c
//   layernorm  set = one sample n over d               γ index = d
//   groupnorm  set = one (n, g) over (c in g, h, w)    γ index = c
// So each layer lists its sets explicitly and shares `normalize` / `normalizeBackward`.
import Foundation

extension Reference {
    /// What a normalization forward saves for its backward.
    struct NormCache {
        /// The normalized input x̂, same shape as x.
        var xhat: RefTensor
        /// Mean of each normalization set.
        var mean: [Double]
        /// Biased variance (divide by the set size) of each set.
        var variance: [Double]
        /// 1 / sqrt(variance + eps) of each set.
        var invStd: [Double]
        /// The flat indices of x in each set.
        var sets: [[Int]]
        /// For each flat index of x, the index of its γ and β.
        var parameterIndex: [Int]
        /// The scale γ used in forward.
        var gamma: RefTensor
    }

    /// Normalizes each set of elements of x by its own mean and biased variance.
    ///
    /// ```
    /// μ_s  = (1/m) Σ_{i∈s} x_i                    m = |s|
    /// σ²_s = (1/m) Σ_{i∈s} (x_i − μ_s)²
    /// x̂_i  = (x_i − μ_s) / sqrt(σ²_s + eps)       for i ∈ s
    /// ```
    static func normalize(
        x: RefTensor, sets: [[Int]], eps: Double
    ) -> (xhat: RefTensor, mean: [Double], variance: [Double], invStd: [Double]) {
        var xhat = RefTensor(zeros: x.shape)
        var means: [Double] = []
        var variances: [Double] = []
        var invStds: [Double] = []
        for set in sets {
            let m = Double(set.count)
            var sum = 0.0
            for i in set {
                sum += x[i]
            }
            let mean = sum / m
            var squares = 0.0
            for i in set {
                squares += (x[i] - mean) * (x[i] - mean)
            }
            let variance = squares / m
            let invStd = 1 / sqrt(variance + eps)
            for i in set {
                xhat[i] = (x[i] - mean) * invStd
            }
            means.append(mean)
            variances.append(variance)
            invStds.append(invStd)
        }
        return (xhat, means, variances, invStds)
    }

    /// Backward of `normalize`: from dx̂ to dx, the mean and variance being functions of x.
    ///
    /// ```
    /// dx_i = (1 / (m σ_s)) (m dx̂_i − Σ_{j∈s} dx̂_j − x̂_i Σ_{j∈s} dx̂_j x̂_j)     σ_s = sqrt(σ²_s + eps)
    /// ```
    /// Derivation (the notes' intermediate steps, corrected: σ_s is the square root of σ²_s + eps):
    /// ```
    /// dσ²  = Σ_j dx̂_j (x_j − μ) · (−1/2) (σ² + eps)^(−3/2)
    /// dμ   = Σ_j dx̂_j · (−1/σ) + dσ² · (−2/m) Σ_j (x_j − μ)        (the second sum is 0)
    /// dx_i = dx̂_i / σ + dσ² · 2 (x_i − μ) / m + dμ / m
    /// ```
    static func normalizeBackward(
        dxhat: RefTensor, xhat: RefTensor, invStd: [Double], sets: [[Int]]
    ) -> RefTensor {
        var dx = RefTensor(zeros: xhat.shape)
        for (s, set) in sets.enumerated() {
            let m = Double(set.count)
            var sumDxhat = 0.0
            var sumDxhatXhat = 0.0
            for j in set {
                sumDxhat += dxhat[j]
                sumDxhatXhat += dxhat[j] * xhat[j]
            }
            for i in set {
                dx[i] = invStd[s] / m * (m * dxhat[i] - sumDxhat - xhat[i] * sumDxhatXhat)
            }
        }
        return dx
    }

    /// Scale and shift: out_i = γ[p(i)] x̂_i + β[p(i)].
    ///
    /// ```
    /// out_i = γ_{p(i)} * x̂_i + β_{p(i)}
    /// ```
    static func scaleShift(
        xhat: RefTensor, gamma: RefTensor, beta: RefTensor, parameterIndex: [Int]
    ) -> RefTensor {
        var out = RefTensor(zeros: xhat.shape)
        for i in 0..<xhat.count {
            let p = parameterIndex[i]
            out[i] = gamma[p] * xhat[i] + beta[p]
        }
        return out
    }

    /// Shared backward of a normalization layer (batchnorm train, layernorm, groupnorm).
    ///
    /// ```
    /// dβ_p = Σ_{i: p(i)=p} dout_i
    /// dγ_p = Σ_{i: p(i)=p} dout_i x̂_i
    /// dx̂_i = dout_i γ_{p(i)}
    /// dx   = normalizeBackward(dx̂)
    /// ```
    static func normBackward(
        dout: RefTensor, cache: NormCache
    ) -> (dx: RefTensor, dgamma: RefTensor, dbeta: RefTensor) {
        precondition(
            dout.shape == cache.xhat.shape, "norm backward: dout \(dout.shape) vs x \(cache.xhat.shape)")
        var dgamma = RefTensor(zeros: cache.gamma.shape)
        var dbeta = RefTensor(zeros: cache.gamma.shape)
        var dxhat = RefTensor(zeros: dout.shape)
        for i in 0..<dout.count {
            let p = cache.parameterIndex[i]
            dbeta[p] += dout[i]
            dgamma[p] += dout[i] * cache.xhat[i]
            dxhat[i] = dout[i] * cache.gamma[p]
        }
        let dx = normalizeBackward(
            dxhat: dxhat, xhat: cache.xhat, invStd: cache.invStd, sets: cache.sets)
        return (dx, dgamma, dbeta)
    }

    // MARK: - Batchnorm

    /// The channel of each flat index of x [N, C] or [N, C, H, W] (axis 1; H·W = 1 for 2-D).
    ///
    /// ```
    /// channel(i) = (i / (H·W)) % C
    /// ```
    static func batchNormChannels(shape: [Int]) -> [Int] {
        precondition(
            shape.count == 2 || shape.count == 4,
            "batchnorm: x must be [N, D] or [N, C, H, W], got \(shape)")
        let channels = shape[1]
        let spatial = shape.count == 4 ? shape[2] * shape[3] : 1
        let count = shape.reduce(1, *)
        return (0..<count).map { ($0 / spatial) % channels }
    }

    /// Batchnorm sets: one per channel (feature), holding all its (n, h, w) elements.
    static func batchNormSets(shape: [Int]) -> [[Int]] {
        let channelOf = batchNormChannels(shape: shape)
        var sets = [[Int]](repeating: [], count: shape[1])
        for i in 0..<channelOf.count {
            sets[channelOf[i]].append(i)
        }
        return sets
    }

    /// Batchnorm forward in train mode on x [N, D] (per feature) or [N, C, H, W] (per channel over
    /// N, H, W), returning the output, the updated running statistics and the backward cache.
    ///
    /// ```
    /// μ_c  = (1/m) Σ x                 m = N (2-D) or N·H·W (4-D)
    /// σ²_c = (1/m) Σ (x − μ_c)²        biased
    /// x̂    = (x − μ_c) / sqrt(σ²_c + eps)
    /// out  = γ_c x̂ + β_c
    /// running_mean' = momentum * running_mean + (1 − momentum) * μ_c
    /// running_var'  = momentum * running_var  + (1 − momentum) * σ²_c     (biased σ², not m/(m−1))
    /// ```
    static func batchNormForwardTrain(
        x: RefTensor, gamma: RefTensor, beta: RefTensor,
        runningMean: RefTensor, runningVar: RefTensor, momentum: Double, eps: Double
    ) -> (out: RefTensor, runningMean: RefTensor, runningVar: RefTensor, cache: NormCache) {
        let channels = x.shape[1]
        for (name, t) in [
            ("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar),
        ] {
            precondition(t.shape == [channels], "batchnorm: \(name) \(t.shape), expected [\(channels)]")
        }
        let sets = batchNormSets(shape: x.shape)
        let parameterIndex = batchNormChannels(shape: x.shape)
        let (xhat, mean, variance, invStd) = normalize(x: x, sets: sets, eps: eps)
        let out = scaleShift(xhat: xhat, gamma: gamma, beta: beta, parameterIndex: parameterIndex)
        var newMean = runningMean
        var newVar = runningVar
        for c in 0..<channels {
            newMean[c] = momentum * runningMean[c] + (1 - momentum) * mean[c]
            newVar[c] = momentum * runningVar[c] + (1 - momentum) * variance[c]
        }
        let cache = NormCache(
            xhat: xhat, mean: mean, variance: variance, invStd: invStd, sets: sets,
            parameterIndex: parameterIndex, gamma: gamma)
        return (out, newMean, newVar, cache)
    }

    /// Batchnorm backward in train mode (batch statistics depend on x).
    ///
    /// ```
    /// dβ_c = Σ dout          dγ_c = Σ dout x̂          (sums over the m elements of channel c)
    /// dx   = (γ_c / (m σ_c)) (m dout − Σ dout − x̂ Σ dout x̂)      σ_c = sqrt(σ²_c + eps)
    /// ```
    static func batchNormBackwardTrain(
        dout: RefTensor, cache: NormCache
    ) -> (dx: RefTensor, dgamma: RefTensor, dbeta: RefTensor) {
        normBackward(dout: dout, cache: cache)
    }

    /// Batchnorm forward in test mode: normalizes with the running statistics.
    ///
    /// ```
    /// out = γ_c (x − running_mean_c) / sqrt(running_var_c + eps) + β_c
    /// ```
    static func batchNormForwardTest(
        x: RefTensor, gamma: RefTensor, beta: RefTensor,
        runningMean: RefTensor, runningVar: RefTensor, eps: Double
    ) -> RefTensor {
        let channelOf = batchNormChannels(shape: x.shape)
        var out = RefTensor(zeros: x.shape)
        for i in 0..<x.count {
            let c = channelOf[i]
            let xhat = (x[i] - runningMean[c]) / sqrt(runningVar[c] + eps)
            out[i] = gamma[c] * xhat + beta[c]
        }
        return out
    }

    /// Batchnorm backward in test mode (running statistics are constants).
    ///
    /// ```
    /// x̂    = (x − running_mean_c) / sqrt(running_var_c + eps)
    /// dx   = dout γ_c / sqrt(running_var_c + eps)
    /// dγ_c = Σ dout x̂          dβ_c = Σ dout
    /// ```
    static func batchNormBackwardTest(
        dout: RefTensor, x: RefTensor, gamma: RefTensor,
        runningMean: RefTensor, runningVar: RefTensor, eps: Double
    ) -> (dx: RefTensor, dgamma: RefTensor, dbeta: RefTensor) {
        precondition(dout.shape == x.shape, "batchnorm backward: dout \(dout.shape) vs x \(x.shape)")
        let channelOf = batchNormChannels(shape: x.shape)
        var dx = RefTensor(zeros: x.shape)
        var dgamma = RefTensor(zeros: gamma.shape)
        var dbeta = RefTensor(zeros: gamma.shape)
        for i in 0..<x.count {
            let c = channelOf[i]
            let std = sqrt(runningVar[c] + eps)
            let xhat = (x[i] - runningMean[c]) / std
            dx[i] = dout[i] * gamma[c] / std
            dgamma[c] += dout[i] * xhat
            dbeta[c] += dout[i]
        }
        return (dx, dgamma, dbeta)
    }

    // MARK: - Layernorm

    /// Layernorm forward on x [N, D] (trailing dimensions flattened to D), γ and β [D].
    ///
    /// ```
    /// μ_n  = (1/D) Σ_d x[n, d]
    /// σ²_n = (1/D) Σ_d (x[n, d] − μ_n)²
    /// out[n, d] = γ_d (x[n, d] − μ_n) / sqrt(σ²_n + eps) + β_d
    /// ```
    static func layerNormForward(
        x: RefTensor, gamma: RefTensor, beta: RefTensor, eps: Double
    ) -> (out: RefTensor, cache: NormCache) {
        let n = x.shape[0]
        let d = x.count / max(n, 1)
        precondition(
            gamma.shape == [d] && beta.shape == [d],
            "layernorm: γ \(gamma.shape), β \(beta.shape), expected [\(d)]")
        var sets: [[Int]] = []
        for sample in 0..<n {
            sets.append(Array(sample * d..<(sample + 1) * d))
        }
        let parameterIndex = (0..<x.count).map { $0 % d }
        let (xhat, mean, variance, invStd) = normalize(x: x, sets: sets, eps: eps)
        let out = scaleShift(xhat: xhat, gamma: gamma, beta: beta, parameterIndex: parameterIndex)
        let cache = NormCache(
            xhat: xhat, mean: mean, variance: variance, invStd: invStd, sets: sets,
            parameterIndex: parameterIndex, gamma: gamma)
        return (out, cache)
    }

    /// Layernorm backward (per sample; note 1/D, not 1/N).
    ///
    /// ```
    /// dβ_d = Σ_n dout[n, d]        dγ_d = Σ_n dout[n, d] x̂[n, d]
    /// dx̂   = dout γ
    /// dx[n, :] = (1 / (D σ_n)) (D dx̂[n, :] − Σ_d dx̂[n, d] − x̂[n, :] Σ_d dx̂[n, d] x̂[n, d])
    /// ```
    static func layerNormBackward(
        dout: RefTensor, cache: NormCache
    ) -> (dx: RefTensor, dgamma: RefTensor, dbeta: RefTensor) {
        normBackward(dout: dout, cache: cache)
    }

    // MARK: - Groupnorm

    /// Groupnorm forward on x [N, C, H, W] with G groups of C/G channels, γ and β [C].
    ///
    /// ```
    /// group of channel c: g = c / (C/G)
    /// μ_{n,g}, σ²_{n,g} over the (C/G)·H·W values x[n, c, h, w] with c in group g   (biased)
    /// out[n, c, h, w] = γ_c (x[n, c, h, w] − μ_{n,g}) / sqrt(σ²_{n,g} + eps) + β_c
    /// ```
    static func groupNormForward(
        x: RefTensor, gamma: RefTensor, beta: RefTensor, groups: Int, eps: Double
    ) -> (out: RefTensor, cache: NormCache) {
        precondition(x.shape.count == 4, "groupnorm: x must be [N, C, H, W], got \(x.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(
            groups > 0 && c % groups == 0, "groupnorm: C = \(c) is not divisible by G = \(groups)")
        precondition(
            gamma.shape == [c] && beta.shape == [c],
            "groupnorm: γ \(gamma.shape), β \(beta.shape), expected [\(c)]")
        let channelsPerGroup = c / groups
        var sets: [[Int]] = []
        for sample in 0..<n {
            for g in 0..<groups {
                var set: [Int] = []
                for channel in g * channelsPerGroup..<(g + 1) * channelsPerGroup {
                    for y in 0..<h {
                        for xw in 0..<w {
                            set.append(((sample * c + channel) * h + y) * w + xw)
                        }
                    }
                }
                sets.append(set)
            }
        }
        let parameterIndex = (0..<x.count).map { ($0 / (h * w)) % c }
        let (xhat, mean, variance, invStd) = normalize(x: x, sets: sets, eps: eps)
        let out = scaleShift(xhat: xhat, gamma: gamma, beta: beta, parameterIndex: parameterIndex)
        let cache = NormCache(
            xhat: xhat, mean: mean, variance: variance, invStd: invStd, sets: sets,
            parameterIndex: parameterIndex, gamma: gamma)
        return (out, cache)
    }

    /// Groupnorm backward (per (n, g) set of m = (C/G)·H·W values; γ, β per channel).
    ///
    /// ```
    /// dβ_c = Σ_{n,h,w} dout        dγ_c = Σ_{n,h,w} dout x̂
    /// dx̂   = dout γ_c
    /// dx   = (1 / (m σ_{n,g})) (m dx̂ − Σ_set dx̂ − x̂ Σ_set dx̂ x̂)
    /// ```
    static func groupNormBackward(
        dout: RefTensor, cache: NormCache
    ) -> (dx: RefTensor, dgamma: RefTensor, dbeta: RefTensor) {
        normBackward(dout: dout, cache: cache)
    }
}
