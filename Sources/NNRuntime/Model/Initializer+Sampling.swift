// Parameter initialization: seeded, reproducible, and independent per tensor name.

import Foundation
import NNGen

/// SplitMix64: a small, fast, well-mixed 64-bit generator (Steele, Lea & Flood 2014).
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal by Box–Muller: sqrt(−2 ln u₁)·cos(2π u₂), with u₁ in (0, 1].
    public mutating func normal() -> Double {
        let u1 = 1 - uniform()
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension Initializer {
    /// The initial values of a tensor. The stream depends only on `seed` and the tensor's name, so adding a
    /// layer never changes the initialization of the others.
    ///
    /// ```
    /// he:         N(0, 2 / fan_in)           xavier:      N(0, 2 / (fan_in + fan_out))
    /// normal(s):  N(0, s²)                   uniform(a):  U(−a, a)
    /// ```
    public func values(for spec: TensorSpec, name: String, seed: UInt64) -> [Double] {
        let count = spec.shape.count
        var rng = SplitMix64(seed: seed ^ stableHash(name))
        switch self {
        case .zeros: return [Double](repeating: 0, count: count)
        case .ones: return [Double](repeating: 1, count: count)
        case .he:
            let std = (2.0 / Double(max(spec.fanIn, 1))).squareRoot()
            return (0..<count).map { _ in std * rng.normal() }
        case .xavier:
            let std = (2.0 / Double(max(spec.fanIn + spec.fanOut, 1))).squareRoot()
            return (0..<count).map { _ in std * rng.normal() }
        case .normal(let std):
            return (0..<count).map { _ in std * rng.normal() }
        case .uniform(let a):
            return (0..<count).map { _ in a * (2 * rng.uniform() - 1) }
        }
    }
}
