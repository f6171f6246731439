// CompiledModel tensors as HostTensors: what `nngen init`, `nngen grad` and checkpoints read and write.

import NNGen

extension DType {
    /// The file element type of this dtype.
    public var elementType: ElementType { self == .float32 ? .float32 : .float64 }
}

extension CompiledModel {
    /// Every parameter and buffer, named as in the spec docs (`fc1.weight`, `bn1.running_mean`), in memory order.
    public func exportTensors() -> [(name: String, tensor: HostTensor)] {
        plan.tensors.map { planned in
            (
                planned.name,
                HostTensor(
                    shape: planned.shape.dims, doubles: load(at: planned.offset, count: planned.count),
                    as: graph.dtype.elementType)
            )
        }
    }

    /// The gradient of every parameter, named `grad.NAME`.
    public func exportGradients() -> [(name: String, tensor: HostTensor)] {
        plan.parameterTensors.map { planned in
            (
                "grad." + planned.name,
                HostTensor(
                    shape: planned.shape.dims,
                    doubles: load(at: plan.gradientOffset(of: planned), count: planned.count),
                    as: graph.dtype.elementType)
            )
        }
    }

    /// Loads every parameter and buffer from named tensors (float32 or float64; converted to the model's dtype).
    /// Every tensor of the model must be present with its exact shape. Names listed in `ignoring` prefixes
    /// (checkpoint extras such as optimizer state) are skipped; any other unknown name is an error.
    public func importTensors(
        _ tensors: [(name: String, tensor: HostTensor)], origin: String,
        ignoringPrefixes: [String] = []
    ) throws {
        let values = try Self.checkedTensors(
            tensors, plan: plan, modelName: graph.modelName, dtype: graph.dtype, origin: origin, ignoringPrefixes: ignoringPrefixes)
        for planned in plan.tensors {
            if let v = values[planned.name] { store(v, at: planned.offset) }
        }
    }

    /// Every parameter and buffer of `plan` from a file's tensors, by name: each present once, with its
    /// shape, a float dtype and finite values; a tensor the plan lacks is an error unless its name has one
    /// of `ignoringPrefixes`. Errors name the file and the tensor.
    public static func checkedTensors(
        _ tensors: [(name: String, tensor: HostTensor)], plan: MemoryPlan, modelName: String, dtype: DType, origin: String,
        ignoringPrefixes: [String] = []
    ) throws -> [String: [Double]] {
        var byName: [String: HostTensor] = [:]
        for (name, tensor) in tensors {
            if ignoringPrefixes.contains(where: { name.hasPrefix($0) }) { continue }
            guard plan.tensor(named: name) != nil else {
                throw Diagnostic(
                    file: origin, "tensor '\(name)' is not in model '\(modelName)'",
                    hint: "the file may belong to another spec; the model's tensors are: "
                        + plan.tensors.map(\.name).joined(separator: ", "))
            }
            byName[name] = tensor
        }
        var values: [String: [Double]] = [:]
        for planned in plan.tensors {
            guard let tensor = byName[planned.name] else {
                throw Diagnostic(
                    file: origin, "tensor '\(planned.name)' \(planned.shape) is missing",
                    hint: "write a complete file with: nngen init SPEC -o FILE")
            }
            guard tensor.shape == planned.shape.dims else {
                let transposed = tensor.shape.count == 2 && tensor.shape == planned.shape.dims.reversed()
                throw Diagnostic(
                    file: origin,
                    "tensor '\(planned.name)' has shape \(TensorShape(tensor.shape)); model '\(modelName)' needs \(planned.shape)"
                        + (transposed ? " — transposed?" : ""),
                    hint: transposed
                        ? "PyTorch's nn.Linear stores its weight as [out, in], nngen as [in, out]: nngen import-weights converts a state_dict"
                        : nil)
            }
            guard tensor.elementType == dtype.elementType else {
                let convert = dtype == .float32 ? "numpy's astype(numpy.float32)" : "numpy's astype(numpy.float64)"
                throw Diagnostic(
                    file: origin, "tensor '\(planned.name)' is \(tensor.elementType.rawValue); model '\(modelName)' is \(dtype.rawValue)",
                    hint: "convert the file (e.g. with \(convert)), or use the spec's dtype the file was written with")
            }
            let v = tensor.doubles()
            if let bad = v.firstIndex(where: { !$0.isFinite }) {
                throw Diagnostic(file: origin, "tensor '\(planned.name)' holds a non-finite value (\(v[bad])) at index \(bad)")
            }
            if planned.name.hasSuffix(".running_var"), let bad = v.firstIndex(where: { $0 < 0 }) {
                throw Diagnostic(
                    file: origin, "tensor '\(planned.name)' holds a negative variance (\(v[bad])) at index \(bad)",
                    hint: "a variance is never below 0: the file is damaged")
            }
            values[planned.name] = v
        }
        return values
    }
}
