// TensorShape: a static tensor shape, batch first.

/// A static tensor shape, batch first: `[N, D]` or `[N, C, H, W]`.
public struct TensorShape: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    public var rank: Int { dims.count }
    /// Number of elements.
    public var count: Int { dims.reduce(1, *) }
    /// The batch size (first dimension).
    public var batch: Int { dims.first ?? 1 }
    /// Elements per sample: the product of every dimension after the first.
    public var featureCount: Int { dims.dropFirst().reduce(1, *) }

    public subscript(i: Int) -> Int { dims[i] }

    /// `[128, 1, 28, 28]`
    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
