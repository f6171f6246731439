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

        // Forward: each layer reads the previous layer's output slot.
        out += "\(EntryPoint.forward.prototype(names, real: "real")) {\n"
        for (index, layer) in graph.layers.enumerated() {
            let arguments = "mem, \(inputExpression(index)), train, rng"
            out += "    \(call(.layerForward, layer.name, arguments));  /* \(layer.kind) \(layer.input) → \(layer.output) */\n"
        }
        out += "    if (!target) return 0;\n"
        out += "    return \(call(.lossForward, "loss", "mem, \(output), target"));\n}\n\n"

        // Backward: the loss gradient enters buffer A; layers alternate between the two scratch buffers.
        let (a, b) = plan.gradientBuffers
        out += "/* Activation gradients alternate between two scratch buffers of \(plan.gradientBufferCount) elements "
        out += "at \(a) and \(b). */\n"
        out += "\(EntryPoint.backward.prototype(names, real: "real")) {\n"
        out += "    \(call(.lossBackward, "loss", "mem, \(output), target, mem + \(a)"));\n"
        var dout = a
        for index in graph.layers.indices.reversed() {
            let layer = graph.layers[index]
            let dx = dout == a ? b : a
            let dxExpression = index == 0 ? "grad_input" : "mem + \(dx)"
            let arguments = "mem, \(inputExpression(index)), mem + \(dout), \(dxExpression), train"
            out += "    \(call(.layerBackward, layer.name, arguments));\n"
            dout = dx
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
        out += """

            /* Threads for the optimized kernels (GCC/Clang builds); see nngen_set_threads in nngen.h. */
            \(EntryPoint.setThreads.prototype(names, real: "real")) { return nngen_set_threads(threads); }

            """
        return out
    }

    /// The C expression for layer `index`'s input: the network input or the previous layer's output.
    func inputExpression(_ index: Int) -> String {
        index == 0 ? "input" : "mem + \(names.macro(graph.layers[index - 1].name + "_OUTPUT"))"
    }
}
