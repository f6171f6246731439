// NetworkWriter: the whole-network C functions — layers in order forward, in reverse backward, the training step.

struct NetworkWriter {
    var graph: ShapedGraph
    var plan: MemoryPlan
    var names: Names

    func write() -> String {
        var out = "\n/* " + String(repeating: "=", count: 100) + "\n * The whole network\n */\n\n"
        let output = "mem + \(names.macro("OUTPUT_OFFSET"))"
        func call(_ entry: EntryPoint, _ owner: String?, _ arguments: String) -> String {
            "\(entry.symbol(names, owner: owner))(\(arguments))"
        }

        // Forward: each layer reads its sources' output slots (the network input for the first layer).
        out += "\(EntryPoint.forward.prototype(names, real: "real")) {\n"
        for (index, layer) in graph.layers.enumerated() {
            let shapes = "\(layer.kind) " + layer.inputs.map(\.description).joined(separator: " + ") + " → \(layer.output)"
            if let fusion = plan.fusion(activation: index) {
                out += "    /* \(layer.name): applied by \(graph.layers[fusion.producer].name)_forward_\(fusion.kind) */\n"
                continue
            }
            let arity = layer.definition.arity
            let fusion = plan.fusion(producer: index)
            let entry = fusion.map { EntryPoint.fusedForward($0.kind, arity: arity) } ?? .ownForward(arity)
            let then = fusion.map { ", then \(graph.layers[$0.activation].name)" } ?? ""
            switch arity {
            case .unary:
                let arguments = "mem, \(source(layer.sources[0])), train, rng"
                out += "    \(call(entry, layer.name, arguments));  /* \(shapes)\(then) */\n"
            case .merge:
                out += "    {  /* \(shapes)\(then) */\n"
                out += "        const real *const x[\(layer.sources.count)] = {\(sourceList(index))};\n"
                out += "        \(call(entry, layer.name, "mem, x, train, rng"));\n    }\n"
            }
        }
        out += "    if (!target) return 0;\n"
        out += "    return \(call(.lossForward, "loss", "mem, \(output), target"));\n}\n\n"
        if plan.forwardOnly { return out + threads() }

        // Backward: the loss writes the output's gradient; each layer, last to first, reads its output's
        // gradient and writes (or adds to) its sources' gradients.
        out += "/* Layer-output gradients live in \(plan.gradientSlabs.count) slab"
        out += plan.gradientSlabs.count == 1 ? "" : "s"
        out += " (see the memory plan: nngen check --dump plan); a gradient read by several layers is the sum "
        out += "of what each sends back. */\n"
        out += "\(EntryPoint.backward.prototype(names, real: "real")) {\n"
        out += "    \(call(.lossBackward, "loss", "mem, \(output), target, \(gradient(.layer(graph.layers.count - 1)))"));\n"
        for index in graph.layers.indices.reversed() {
            let layer = graph.layers[index]
            if let fusion = plan.fusion(activation: index) {
                out += "    /* \(layer.name): by \(graph.layers[fusion.producer].name)_backward_\(fusion.kind) */\n"
                continue
            }
            // A fused producer reads its activation's output gradient; its own is never made.
            let fusion = plan.fusion(producer: index)
            let dout = gradient(.layer(fusion?.activation ?? index))
            let arity = layer.definition.arity
            let entry = fusion.map { EntryPoint.fusedBackward($0.kind, arity: arity) } ?? .ownBackward(arity)
            switch arity {
            case .unary:
                let arguments = "mem, \(source(layer.sources[0])), \(dout), \(gradient(layer.sources[0])), train"
                out += "    \(call(entry, layer.name, arguments));\n"
            case .merge:
                out += "    {\n"
                out += "        const real *const x[\(layer.sources.count)] = {\(sourceList(index))};\n"
                let dx = layer.sources.map(gradient).joined(separator: ", ")
                out += "        real *const dx[\(layer.sources.count)] = {\(dx)};\n"
                out += "        \(call(entry, layer.name, "mem, x, \(dout), dx, train"));\n    }\n"
            }
        }
        out += "}\n"

        if graph.optimizer != nil {
            // The update itself is the optimizer's template (above).
            out += """

                \(EntryPoint.trainStep.prototype(names, real: "real")) {
                    const double loss = \(call(.forward, nil, "mem, input, target, 1, rng"));
                    \(call(.backward, nil, "mem, input, target, 0, 1"));
                    \(call(.update, nil, "mem, lr, step"));
                    return loss;
                }

                """
        }
        return out + "\n" + threads() + allreduce()
    }

    /// The data-parallel hook of `batchnorm ... sync=true` (declared by the batchnorm template).
    func allreduce() -> String {
        guard graph.synchronizesBatchStatistics else { return "" }
        return """
            /* The sum over the processes of a data-parallel job that batchnorm sync=true takes its batch
             * statistics with: allreduce(values, count) replaces count doubles by their sums over every
             * process (e.g. MPI_Allreduce with MPI_IN_PLACE, MPI_DOUBLE, MPI_SUM). NULL: this process alone. */
            \(EntryPoint.setAllreduce.prototype(names, real: "real")) { nngen_allreduce_hook = allreduce; }

            """
    }

    /// The thread-count entry point.
    func threads() -> String {
        """
        /* Threads for the optimized kernels (GCC/Clang builds); see nngen_set_threads in nngen.h. */
        \(EntryPoint.setThreads.prototype(names, real: "real")) { return nngen_set_threads(threads); }

        """
    }

    /// The C expression for a source's values: the network input or a layer's output slot.
    func source(_ source: TensorSource) -> String {
        switch source {
        case .input: "input"
        case .layer(let index): "mem + \(names.macro(graph.layers[index].name + "_OUTPUT"))"
        }
    }

    /// The sources of layer `index`, comma-separated.
    func sourceList(_ index: Int) -> String { graph.layers[index].sources.map(source).joined(separator: ", ") }

    /// The C expression for a source's gradient: `grad_input` for the network input, else its slab.
    func gradient(_ source: TensorSource) -> String {
        switch source {
        case .input: "grad_input"
        case .layer(let index): "mem + \(plan.layers[index].gradient) /* d\(graph.layers[index].name) */"
        }
    }
}
