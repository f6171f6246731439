// The float64 tensor the reference layers work on, a small deterministic RNG, and the two helpers
// every equivalence test uses: a centered-difference numerical gradient and a norm-wise relative error.
import Foundation

/// Namespace of nngen's independent float64 reference implementation.
///
/// Every function here is written from the math (the notes in `shared/seeds`, with their
/// transcription errors corrected), as plain nested loops, and every backward is proven against
/// `Reference.numericalGradient` in `ReferenceSelfTests.swift`. Generated C kernels are checked
/// against these functions, never against each other.
enum Reference {}

/// A dense row-major float64 tensor (NCHW for 4-D): the reference's only data type.
///
/// ```
/// flat index of [i0, i1, ..., ik] = ((i0 * shape[1] + i1) * shape[2] + ...) * shape[k] + ik
/// ```
struct RefTensor: Equatable {
    var shape: [Int]
    var data: [Double]

    /// A tensor with the given shape and row-major data; `data.count` must equal the product of `shape`.
    init(shape: [Int], data: [Double]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "RefTensor: negative dimension in \(shape)")
        precondition(
            shape.reduce(1, *) == data.count,
            "RefTensor: shape \(shape) holds \(shape.reduce(1, *)) values, data has \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of zeros.
    init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Double](repeating: 0, count: shape.reduce(1, *)))
    }

    /// Number of elements (product of `shape`).
    var count: Int { data.count }

    /// Element at a flat row-major index.
    subscript(index: Int) -> Double {
        get { data[index] }
        set { data[index] = newValue }
    }

    /// The same data viewed with another shape of the same element count.
    func reshaped(_ newShape: [Int]) -> RefTensor {
        RefTensor(shape: newShape, data: data)
    }

    /// A tensor of values drawn uniformly from `[-scale, scale]` by SplitMix64 seeded with `seed`.
    ///
    /// ```
    /// data[i] = (2 u_i - 1) * scale,   u_i = (splitmix64_i >> 11) * 2^-53  in [0, 1)
    /// ```
    static func random(shape: [Int], seed: UInt64, scale: Double = 1) -> RefTensor {
        var rng = Reference.SplitMix64(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ in rng.nextUniform(scale: scale) }
        return RefTensor(shape: shape, data: values)
    }
}

extension Reference {
    /// SplitMix64 (Steele, Lea, Flood 2014): a tiny deterministic 64-bit generator.
    ///
    /// ```
    /// state += 0x9E3779B97F4A7C15
    /// z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    /// next = z ^ (z >> 31)
    /// ```
    struct SplitMix64 {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        /// The next 64 random bits.
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// A double uniform in `[0, 1)` (the top 53 bits of `next()`).
        ///
        /// ```
        /// u = (next >> 11) * 2^-53
        /// ```
        mutating func nextUnit() -> Double {
            Double(next() >> 11) * 0x1.0p-53
        }

        /// A double uniform in `[-scale, scale)`.
        ///
        /// ```
        /// (2 u - 1) * scale
        /// ```
        mutating func nextUniform(scale: Double) -> Double {
            (2 * nextUnit() - 1) * scale
        }
    }

    /// `count` class ids in `0..<classes`, deterministic in `seed`.
    ///
    /// ```
    /// label_i = next_i % classes
    /// ```
    static func randomLabels(count: Int, classes: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Int(rng.next() % UInt64(classes)) }
    }

    /// A dropout mask of 0/1 values of the given shape: 1 with probability `keep`.
    ///
    /// ```
    /// mask_i = u_i < keep ? 1 : 0
    /// ```
    static func randomMask(shape: [Int], keep: Double, seed: UInt64) -> RefTensor {
        var rng = SplitMix64(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ in rng.nextUnit() < keep ? 1.0 : 0.0 }
        return RefTensor(shape: shape, data: values)
    }

    /// Sum of elementwise products, the scalar `L = Σ a_i b_i` the gradient checks differentiate.
    ///
    /// ```
    /// dot(a, b) = Σ_i a_i * b_i
    /// ```
    static func dot(_ a: RefTensor, _ b: RefTensor) -> Double {
        precondition(a.shape == b.shape, "Reference.dot: shapes \(a.shape) and \(b.shape) differ")
        var sum = 0.0
        for i in 0..<a.count {
            sum += a[i] * b[i]
        }
        return sum
    }

    /// Centered-difference numerical gradient of a scalar function.
    ///
    /// ```
    /// grad_i = (f(x + h e_i) - f(x - h e_i)) / (2 h)
    /// ```
    /// Truncation error is O(h²); rounding error is about ε·|f| / h. With h = 1e-6 and |f| of order
    /// 1–100, both stay near 1e-9, well below the 1e-7 the self-tests require.
    static func numericalGradient(
        of f: ([Double]) -> Double, at x: [Double], h: Double = 1e-6
    ) -> [Double] {
        var gradient = [Double](repeating: 0, count: x.count)
        var probe = x
        for i in 0..<x.count {
            probe[i] = x[i] + h
            let plus = f(probe)
            probe[i] = x[i] - h
            let minus = f(probe)
            probe[i] = x[i]
            gradient[i] = (plus - minus) / (2 * h)
        }
        return gradient
    }

    /// The norm-wise relative error the project uses everywhere to compare two arrays.
    ///
    /// ```
    /// relativeError(a, b) = max_i |a_i - b_i| / max(max_i |a_i|, max_i |b_i|, 1e-300)
    /// ```
    /// One number per tensor, scaled by its largest entry, so tiny entries of a large tensor do not
    /// dominate (as elementwise relative error would) and two all-zero arrays compare as 0.
    /// An empty pair compares as 0; arrays of different length are a programming error.
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "Reference.relativeError: \(a.count) vs \(b.count) values")
        var maxDifference = 0.0
        var maxMagnitude = 1e-300
        for i in 0..<a.count {
            maxDifference = max(maxDifference, abs(a[i] - b[i]))
            maxMagnitude = max(maxMagnitude, abs(a[i]), abs(b[i]))
        }
        // A NaN anywhere must never compare as "close".
        if a.contains(where: { $0.isNaN }) || b.contains(where: { $0.isNaN }) { return .infinity }
        return maxDifference / maxMagnitude
    }
}
