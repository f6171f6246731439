// HostTensor: a tensor in host memory as raw little-endian bytes, the element types tensor files hold,
// and the whole-file read that the safetensors and .npy readers share.
import NNGen

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The element types nngen reads and writes in tensor files (safetensors and .npy).
public enum ElementType: String, Sendable, CaseIterable {
    case float32, float64, int32, int64, uint8

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .uint8: 1
        case .float32, .int32: 4
        case .float64, .int64: 8
        }
    }

    /// The safetensors `dtype` string: `F32`, `F64`, `I32`, `I64`, `U8`.
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .int32: "I32"
        case .int64: "I64"
        case .uint8: "U8"
        }
    }

    /// The NumPy `descr` string (little-endian): `<f4`, `<f8`, `<i4`, `<i8`, `|u1`.
    public var npyDescr: String {
        switch self {
        case .float32: "<f4"
        case .float64: "<f8"
        case .int32: "<i4"
        case .int64: "<i8"
        case .uint8: "|u1"
        }
    }
}

/// A dense tensor in host memory: a shape, an element type, and the elements as little-endian bytes in
/// row-major order.
///
/// `bytes.count` should be `count * elementType.byteSize`; the plain initializer does not check this,
/// the file writers do.
public struct HostTensor: Sendable, Equatable {
    public var shape: [Int]
    public var elementType: ElementType
    /// Little-endian, row-major; `count * elementType.byteSize` bytes.
    public var bytes: [UInt8]

    /// A tensor from raw bytes, taken as they are.
    public init(shape: [Int], elementType: ElementType, bytes: [UInt8]) {
        self.shape = shape
        self.elementType = elementType
        self.bytes = bytes
    }

    /// A float32 tensor holding `values` in row-major order.
    public init(shape: [Int], float32 values: [Float]) {
        self.init(shape: shape, elementType: .float32, bytes: Self.littleEndianBytes(values.map(\.bitPattern)))
    }

    /// A float64 tensor holding `values` in row-major order.
    public init(shape: [Int], float64 values: [Double]) {
        self.init(shape: shape, elementType: .float64, bytes: Self.littleEndianBytes(values.map(\.bitPattern)))
    }

    /// A int32 tensor holding `values` in row-major order.
    public init(shape: [Int], int32 values: [Int32]) {
        self.init(shape: shape, elementType: .int32, bytes: Self.littleEndianBytes(values))
    }

    /// A int64 tensor holding `values` in row-major order.
    public init(shape: [Int], int64 values: [Int64]) {
        self.init(shape: shape, elementType: .int64, bytes: Self.littleEndianBytes(values))
    }

    /// A uint8 tensor holding `values` in row-major order.
    public init(shape: [Int], uint8 values: [UInt8]) {
        self.init(shape: shape, elementType: .uint8, bytes: values)
    }

    /// A tensor of `elementType` holding `values` converted: to integers by truncating toward zero and
    /// clamping to the type's range (NaN becomes 0).
    public init(shape: [Int], doubles values: [Double], as elementType: ElementType) {
        switch elementType {
        case .float32: self.init(shape: shape, float32: values.map { Float($0) })
        case .float64: self.init(shape: shape, float64: values)
        case .int32: self.init(shape: shape, int32: values.map { Int32(clamping: Self.truncated($0)) })
        case .int64: self.init(shape: shape, int64: values.map(Self.truncated))
        case .uint8: self.init(shape: shape, uint8: values.map { UInt8(clamping: Self.truncated($0)) })
        }
    }

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// Every element converted to `Double`.
    public func doubles() -> [Double] {
        switch elementType {
        case .float32: elements(UInt32.self).map { Double(Float(bitPattern: $0)) }
        case .float64: elements(UInt64.self).map { Double(bitPattern: $0) }
        case .int32: elements(Int32.self).map { Double($0) }
        case .int64: elements(Int64.self).map { Double($0) }
        case .uint8: bytes.map { Double($0) }
        }
    }

    /// Every element converted to `Int`; floating-point values are truncated toward zero and clamped.
    public func integers() -> [Int] {
        switch elementType {
        case .float32, .float64: doubles().map { Int(Self.truncated($0)) }
        case .int32: elements(Int32.self).map { Int($0) }
        case .int64: elements(Int64.self).map { Int($0) }
        case .uint8: bytes.map { Int($0) }
        }
    }

    /// Calls `body` with the raw element bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// The number of bytes `shape` of `elementType` needs, or nil when it overflows `Int`.
    static func byteCount(shape: [Int], elementType: ElementType) -> Int? {
        var total = elementType.byteSize
        for dimension in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// Checks that the shape has no negative dimension and that `bytes` has exactly the size it needs;
    /// `what` names the tensor in the message ("tensor 'w'", "the array").
    func validate(_ what: String, origin: String?) throws {
        if shape.contains(where: { $0 < 0 }) {
            throw Diagnostic(origin: origin, "\(what) has a negative dimension in shape \(shape)")
        }
        guard let needed = Self.byteCount(shape: shape, elementType: elementType) else {
            throw Diagnostic(origin: origin, "\(what) shape \(shape) is too large to address")
        }
        if bytes.count != needed {
            throw Diagnostic(
                origin: origin,
                "\(what) has \(bytes.count) bytes, but shape \(shape) of \(elementType) needs \(needed)",
                hint: "build it with a typed initializer such as HostTensor(shape:float32:)")
        }
    }

    /// `value` truncated toward zero and clamped to `Int64`; NaN becomes 0.
    private static func truncated(_ value: Double) -> Int64 {
        if value.isNaN { return 0 }
        if value >= 0x1p63 { return .max }
        if value < -0x1p63 { return .min }
        return Int64(value)
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        let size = MemoryLayout<T>.size
        var bytes = [UInt8](repeating: 0, count: values.count * size)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: value.littleEndian, toByteOffset: index * size, as: T.self)
            }
        }
        return bytes
    }

    private func elements<T: FixedWidthInteger>(_: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        return bytes.withUnsafeBytes { raw in
            (0..<raw.count / size).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
        }
    }
}

extension Diagnostic {
    /// An error about the file `origin`, or an error with no location when there is no file (encoding to
    /// memory).
    init(origin: String?, _ message: String, hint: String? = nil) {
        self.init(at: origin.map { SourceLocation(file: $0, line: 0, column: 0) }, message, hint: hint)
    }
}
