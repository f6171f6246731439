// StateDictImporter: a PyTorch state_dict (saved as safetensors) onto a hand-written spec — by name where the
// spec's layer names are PyTorch's module names, else in order by kind — in nngen's names and layouts.

import NNGen
import NNRuntime

public enum StateDictImporter {
    /// The tensors in nngen's names and layouts, and one line per decision made. `nngenLayout`: the file
    /// was written by nngen (its Linear weights are already [in, out]); otherwise every Linear weight,
    /// square ones included, is PyTorch's [out, in] and is transposed.
    public static func convert(
        stateDict: [(name: String, tensor: HostTensor)], graph: ShapedGraph, origin: String, nngenLayout: Bool = false
    ) throws -> (tensors: [(name: String, tensor: HostTensor)], decisions: [String]) {
        // PyTorch's modules: tensors grouped by the name before the last dot, in natural order
        // (features.2 before features.10). num_batches_tracked is batchnorm bookkeeping nngen does not keep.
        var modules: [String: [String: HostTensor]] = [:]
        var decisions: [String] = []
        for (name, tensor) in stateDict {
            guard let dot = name.lastIndex(of: ".") else {
                throw Diagnostic(file: origin, "tensor '\(name)' has no module prefix (PyTorch names parameters 'module.weight')")
            }
            let suffix = String(name[name.index(after: dot)...])
            if suffix == "num_batches_tracked" {
                decisions.append("dropped \(name) (PyTorch's batch counter; nngen has none)")
                continue
            }
            modules[String(name[..<dot]), default: [:]][suffix] = tensor
        }
        let order = modules.keys.sorted(by: naturalOrder)

        struct Target {
            var layer: ShapedLayer
            var kind: String
        }
        let targets = graph.layers.filter { !$0.instance.parameters.isEmpty || !$0.instance.buffers.isEmpty }.map {
            Target(layer: $0, kind: kindOfLayer($0.kind))
        }
        // By name first, then the rest in order, kind by kind.
        var assignment: [String: String] = [:]  // nngen layer → torch module
        var used: Set<String> = []
        for target in targets where modules[target.layer.name] != nil {
            assignment[target.layer.name] = target.layer.name
            used.insert(target.layer.name)
        }
        let unmatchedModules = order.filter { !used.contains($0) }
        let unmatchedLayers = targets.filter { assignment[$0.layer.name] == nil }
        for kind in Set(unmatchedLayers.map(\.kind)).sorted() {
            let layers = unmatchedLayers.filter { $0.kind == kind }
            let candidates = unmatchedModules.filter { kindOfModule(modules[$0] ?? [:]) == kind }
            guard layers.count == candidates.count else {
                throw Diagnostic(
                    file: origin,
                    "cannot match the spec's \(kind) layers \(layers.map(\.layer.name)) to the file's \(kind) modules \(candidates) one to one",
                    hint: "name the spec's layers as the PyTorch modules (e.g. 'affine fc1 ...' for fc1.weight)")
            }
            for (layer, module) in zip(layers, candidates) {
                assignment[layer.layer.name] = module
                used.insert(module)
                decisions.append("\(layer.layer.name) (\(layer.layer.kind)) ← \(module) (matched in order among \(kind) layers)")
            }
        }
        if let extra = order.first(where: { !used.contains($0) }) {
            throw Diagnostic(
                file: origin,
                "module '\(extra)' (\(modules[extra]?.keys.sorted().joined(separator: ", ") ?? "")) matches no layer of the spec",
                hint: "the file may belong to another network")
        }

        var out: [(name: String, tensor: HostTensor)] = []
        for target in targets {
            let layer = target.layer
            guard let module = assignment[layer.name], var tensors = modules[module] else { continue }
            // nngen's suffix ← PyTorch's, for this kind of layer.
            let renames = ["gamma": "weight", "beta": "bias"]
            for spec in layer.instance.parameters + layer.instance.buffers {
                let nngenName = "\(layer.name).\(spec.suffix)"
                let torchSuffix = target.kind == "linear" || target.kind == "conv" ? spec.suffix : (renames[spec.suffix] ?? spec.suffix)
                // (nngen's own suffix is accepted too: a file nngen wrote maps onto the same spec.)
                guard let tensor = tensors.removeValue(forKey: torchSuffix) ?? tensors.removeValue(forKey: spec.suffix) else {
                    throw Diagnostic(file: origin, "\(module).\(torchSuffix) is missing: the spec's \(nngenName) \(spec.shape) needs it")
                }
                let want = spec.shape.dims
                var values = tensor.doubles()
                var note = ""
                let linearWeight = target.kind == "linear" && spec.suffix == "weight"
                if tensor.shape == want && (nngenLayout || !linearWeight || want[0] != want[1]) {
                    if linearWeight && !nngenLayout { note = " (already [in, out])" }
                } else if linearWeight, tensor.shape == want.reversed() {
                    // nn.Linear's weight is [out, in]; nngen's is [in, out].
                    values = LinearWeight.transposed(values, rows: tensor.shape[0], cols: tensor.shape[1])
                    note = " transposed to \(TensorShape(want))"
                } else if tensor.shape.reduce(1, *) == want.reduce(1, *), target.kind == "norm" {
                    note = " reshaped to \(TensorShape(want))"
                } else {
                    throw Diagnostic(
                        file: origin,
                        "\(module).\(torchSuffix) has shape \(TensorShape(tensor.shape)); the spec's \(nngenName) is \(spec.shape)")
                }
                out.append((nngenName, HostTensor(shape: want, doubles: values, as: graph.dtype.elementType)))
                decisions.append("\(nngenName) ← \(module).\(torchSuffix) \(TensorShape(tensor.shape))\(note)")
            }
            if let left = tensors.keys.sorted().first {
                throw Diagnostic(
                    file: origin, "\(module).\(left) has no place in the spec's \(layer.kind) '\(layer.name)'",
                    hint: "check bias= in the spec")
            }
        }
        return (out, decisions)
    }

    /// The PyTorch kind a layer's parameters look like.
    static func kindOfLayer(_ kind: String) -> String {
        switch kind {
        case "affine": "linear"
        case "conv": "conv"
        case "batchnorm": "batchnorm"
        default: "norm"
        }
    }

    /// The kind of a PyTorch module from its tensors: running statistics → batchnorm; a 4-D weight → conv;
    /// a 2-D weight → linear; else a norm layer (LayerNorm, GroupNorm).
    static func kindOfModule(_ tensors: [String: HostTensor]) -> String {
        if tensors["running_mean"] != nil { return "batchnorm" }
        switch tensors["weight"]?.shape.count {
        case 4?: return "conv"
        case 2?: return "linear"
        default: return "norm"
        }
    }

    /// `features.2` before `features.10`: digit runs compare as numbers.
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        func parts(_ s: String) -> [Either] {
            var out: [Either] = []
            var digits = ""
            var text = ""
            for c in s {
                if c.isNumber {
                    if !text.isEmpty {
                        out.append(.text(text))
                        text = ""
                    }
                    digits.append(c)
                } else {
                    if !digits.isEmpty {
                        out.append(.number(Int(digits.prefix(18)) ?? 0))
                        digits = ""
                    }
                    text.append(c)
                }
            }
            if !digits.isEmpty { out.append(.number(Int(digits.prefix(18)) ?? 0)) }
            if !text.isEmpty { out.append(.text(text)) }
            return out
        }
        let (x, y) = (parts(a), parts(b))
        for (p, q) in zip(x, y) where p != q {
            switch (p, q) {
            case (.number(let m), .number(let n)): return m < n
            case (.text(let s), .text(let t)): return s < t
            case (.number, .text): return true
            case (.text, .number): return false
            }
        }
        return x.count < y.count
    }

    enum Either: Equatable {
        case text(String)
        case number(Int)
    }
}
