// DType: the floating-point type a whole model computes in.

/// The element type of every parameter, activation and gradient of a model.
public enum DType: String, Sendable, CaseIterable {
    case float32
    case float64

    /// Bytes per element.
    public var byteSize: Int { self == .float32 ? 4 : 8 }

    /// The C type name.
    public var cType: String { self == .float32 ? "float" : "double" }

    /// The safetensors dtype string.
    public var safetensorsName: String { self == .float32 ? "F32" : "F64" }
}
