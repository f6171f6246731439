// EmbeddedWeights: `nngen compile --embed-weights CKPT` — a model's parameters and buffers as `const` arrays
// in the generated C, and `<model>_init_embedded`, for targets without a file system.

/// The values of every parameter and buffer, by name, to compile into the library.
public struct EmbeddedWeights: Sendable {
    /// Tensor name → its values in row-major order (as many as the tensor's shape holds).
    public var values: [String: [Double]]
    /// Where they came from, for the generated comment.
    public var origin: String
    public init(values: [String: [Double]], origin: String) {
        self.values = values
        self.origin = origin
    }

    /// The C section: one `static const real` array per tensor (exact hexadecimal literals) and the
    /// function that copies them into mem.
    func section(plan: MemoryPlan, names: Names, dtype: DType) -> String {
        let function = EntryPoint.initEmbedded.prototype(names, real: "real")
        var out = "\n/* " + String(repeating: "-", count: 100) + "\n"
        out += " * The parameters and buffers of \(origin), embedded by nngen compile --embed-weights (exact hexadecimal\n"
        out += " * literals of the model's \(dtype.rawValue) values).\n */\n"
        let suffix = dtype == .float32 ? "f" : ""
        for tensor in plan.tensors {
            let values = self.values[tensor.name] ?? []
            out +=
                "static const real \(names.model)_embedded_\(tensor.name.replacingDots())[\(max(tensor.count, 1))] = {  /* \(tensor.name) \(tensor.shape) */\n"
            var index = 0
            while index < values.count {
                let row = values[index..<min(index + 6, values.count)].map { value -> String in
                    CLiteral.hex(dtype == .float32 ? Double(Float(value)) : value) + suffix
                }
                out += "    " + row.joined(separator: ", ") + ",\n"
                index += 6
            }
            out += "};\n"
        }
        out += "\n\(function) {\n"
        out += "    memset(mem, 0, sizeof(real) * \(names.macro("MEM_SIZE")));\n"
        for tensor in plan.tensors {
            let array = "\(names.model)_embedded_\(tensor.name.replacingDots())"
            out += "    memcpy(mem + \(names.macro(tensor.name)), \(array), sizeof \(array));\n"
        }
        out += "    return 0;\n}\n"
        return out
    }
}
