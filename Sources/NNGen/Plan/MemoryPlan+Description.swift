// The memory plan as text: what `nngen check --dump plan` prints.

extension MemoryPlan {
    /// Every region, tensor, layer slot and scratch array with its offset and size, in elements.
    public func render(_ graph: ShapedGraph) -> String {
        var rows: [[String]] = [["offset", "elements", "what"]]
        func row(_ offset: Int, _ count: Int, _ what: String) {
            rows.append([String(offset), String(count), what])
        }
        row(parameters.offset, parameters.count, "parameters")
        for t in parameterTensors { row(t.offset, t.count, "  \(t.name) \(t.shape)") }
        if !forwardOnly { row(gradients.offset, gradients.count, "gradients (parameter offset + \(parameters.count))") }
        row(buffers.offset, buffers.count, "buffers")
        for t in bufferTensors { row(t.offset, t.count, "  \(t.name) \(t.shape)") }
        if !forwardOnly { row(optimizerState.offset, optimizerState.count, "optimizer state (\(stateSlots) × the parameter layout)") }
        row(activations.offset, activations.count, forwardOnly ? "activations (forward only, shared by liveness)" : "activations")
        for (index, layer) in graph.layers.enumerated() {
            let writer = fusion(activation: index).map { " (written by \(graph.layers[$0.producer].name)_forward_\($0.kind))" }
            let shared = fusion(producer: index).map { " (\(graph.layers[$0.activation].name)'s block; not stored by the network)" }
            row(layers[index].output, layer.output.count, "  \(layer.name) output \(layer.output)" + (writer ?? shared ?? ""))
            for saved in layer.instance.saved where !(forwardOnly && saved.backwardOnly) {
                row(layers[index].saved[saved.name] ?? 0, saved.count, "  \(layer.name) saved \(saved.name)")
            }
        }
        for saved in graph.loss.instance.saved {
            row(lossSaved[saved.name] ?? 0, saved.count, "  loss saved \(saved.name)")
        }
        for (slab, region) in gradientSlabs.enumerated() {
            let held = graph.layers.indices.filter { layers[$0].gradient == region.offset }.map { index in
                let name = "d" + graph.layers[index].name
                guard let fusion = fusion(producer: index) else { return name }
                return name + " (never stored: \(graph.layers[index].name)_backward_\(fusion.kind))"
            }
            row(region.offset, region.count, "  gradient slab \(slab): " + held.joined(separator: ", "))
        }
        row(total, 0, "end")
        let widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            (String(repeating: " ", count: widths[0] - r[0].count) + r[0]) + "  "
                + (String(repeating: " ", count: widths[1] - r[1].count) + r[1]) + "  " + r[2]
        }.joined(separator: "\n")
    }
}
