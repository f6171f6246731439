// Reference optimizer steps on a flat parameter array, in PyTorch's formulation (weight decay added
// to the gradient): SGD with momentum, and Adam.
import Foundation

extension Reference {
    /// SGD state: the momentum buffer (zeros before the first step).
    struct SGDState: Equatable {
        var velocity: [Double]
        init(count: Int) { velocity = [Double](repeating: 0, count: count) }
        init(velocity: [Double]) { self.velocity = velocity }
    }

    /// One SGD step with momentum μ and weight decay λ (PyTorch `torch.optim.SGD`, dampening 0,
    /// no Nesterov).
    ///
    /// ```
    /// g' = g + λ p
    /// v  = μ v + g'            (μ = 0: v = g')
    /// p  = p − lr v
    /// ```
    /// With v starting at zero, the first step gives v = g', as PyTorch's buffer initialization does.
    static func sgdStep(
        params: [Double], grads: [Double], state: SGDState,
        lr: Double, momentum: Double, weightDecay: Double
    ) -> (params: [Double], state: SGDState) {
        precondition(
            params.count == grads.count && params.count == state.velocity.count, "sgd: sizes differ")
        var newParams = params
        var newState = state
        for i in 0..<params.count {
            let g = grads[i] + weightDecay * params[i]
            newState.velocity[i] = momentum * state.velocity[i] + g
            newParams[i] = params[i] - lr * newState.velocity[i]
        }
        return (newParams, newState)
    }

    /// Adam state: first and second moment estimates and the number of steps taken so far.
    struct AdamState: Equatable {
        var m: [Double]
        var v: [Double]
        /// Steps already taken; the next step uses t = step + 1.
        var step: Int
        init(count: Int) {
            m = [Double](repeating: 0, count: count)
            v = [Double](repeating: 0, count: count)
            step = 0
        }
    }

    /// One Adam step (PyTorch `torch.optim.Adam`, L2 weight decay added to the gradient, not AdamW).
    ///
    /// ```
    /// t  = step + 1                         (t = 1 on the first step)
    /// g' = g + λ p
    /// m  = β1 m + (1 − β1) g'
    /// v  = β2 v + (1 − β2) g'²
    /// m̂  = m / (1 − β1^t)
    /// v̂  = v / (1 − β2^t)
    /// p  = p − lr m̂ / (sqrt(v̂) + eps)
    /// ```
    static func adamStep(
        params: [Double], grads: [Double], state: AdamState,
        lr: Double, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
        weightDecay: Double = 0
    ) -> (params: [Double], state: AdamState) {
        precondition(
            params.count == grads.count && params.count == state.m.count && params.count == state.v.count,
            "adam: sizes differ")
        var newParams = params
        var newState = state
        newState.step = state.step + 1
        let t = Double(newState.step)
        let correction1 = 1 - pow(beta1, t)
        let correction2 = 1 - pow(beta2, t)
        for i in 0..<params.count {
            let g = grads[i] + weightDecay * params[i]
            newState.m[i] = beta1 * state.m[i] + (1 - beta1) * g
            newState.v[i] = beta2 * state.v[i] + (1 - beta2) * g * g
            let mHat = newState.m[i] / correction1
            let vHat = newState.v[i] / correction2
            newParams[i] = params[i] - lr * mHat / (sqrt(vHat) + eps)
        }
        return (newParams, newState)
    }

    /// One RMSprop step (PyTorch `torch.optim.RMSprop`, alpha = decay, no momentum, not centered).
    ///
    /// ```
    /// g' = g + λ p;   c = decay·c + (1 − decay)·g'²;   p = p − lr·g' / (sqrt(c) + eps)
    /// ```
    static func rmspropStep(
        params: [Double], grads: [Double], cache: [Double], lr: Double, decay: Double, eps: Double, weightDecay: Double
    ) -> (params: [Double], cache: [Double]) {
        var p = params
        var c = cache
        for i in 0..<params.count {
            let g = grads[i] + weightDecay * params[i]
            c[i] = decay * cache[i] + (1 - decay) * g * g
            p[i] = params[i] - lr * g / (sqrt(c[i]) + eps)
        }
        return (p, c)
    }

    /// One AdamW step (PyTorch `torch.optim.AdamW`): decay the parameters, then an Adam step without decay.
    ///
    /// ```
    /// p = p·(1 − lr·λ);   then Adam with λ = 0 (m, v, bias corrections)
    /// ```
    static func adamwStep(
        params: [Double], grads: [Double], state: AdamState, lr: Double, beta1: Double, beta2: Double, eps: Double,
        weightDecay: Double
    ) -> (params: [Double], state: AdamState) {
        let decayed = params.map { $0 * (1 - lr * weightDecay) }
        return adamStep(params: decayed, grads: grads, state: state, lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: 0)
    }
}
