// CompiledModel+Saved: read a layer's saved scratch arrays (what its forward kept for backward, e.g. a dropout mask).

import NNGen

extension CompiledModel {
    /// The values of the scratch array `name` that layer `layer` saved in its last forward pass: batchnorm's
    /// `mean` and `invstd`, dropout's `mask` (1 kept, 0 dropped; written by train-mode forwards only).
    public func saved(layer: String, name: String) throws -> [Double] {
        guard let index = graph.layers.firstIndex(where: { $0.name == layer }) else {
            throw Diagnostic(
                "model '\(graph.modelName)' has no layer '\(layer)'",
                hint: "its layers are: " + graph.layers.map(\.name).joined(separator: ", "))
        }
        let shaped = graph.layers[index]
        guard let spec = shaped.instance.saved.first(where: { $0.name == name }),
            let offset = plan.layers[index].saved[name]
        else {
            let names = shaped.instance.saved.map(\.name)
            throw Diagnostic(
                "\(shaped.kind) '\(layer)' saves no array '\(name)'",
                hint: names.isEmpty
                    ? "\(shaped.kind) saves nothing for backward"
                    : "it saves: " + names.joined(separator: ", "))
        }
        return load(at: offset, count: spec.count)
    }
}
