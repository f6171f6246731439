// NetworkWriter: the whole-network C functions — layers in order forward, in reverse backward, then updates.

struct NetworkWriter {
    var graph: ShapedGraph
    var plan: MemoryPlan
    var names: Names

    func write() -> String {
        let m = names.model
        var out = "\n/* " + String(repeating: "=", count: 100) + "\n * The whole network\n */\n\n"

        // Forward: each layer reads the previous layer's output slot.
        out += "double \(m)_forward(real *mem, const real *input, const void *target, int train, uint64_t rng) {\n"
        for (index, layer) in graph.layers.enumerated() {
            out +=
                "    \(names.layer(layer.name))_forward(mem, \(inputExpression(index)), train, rng);  /* \(layer.kind) \(layer.input) → \(layer.output) */\n"
        }
        out += "    if (!target) return 0;\n"
        out += "    return \(names.layer("loss"))_forward(mem, mem + \(names.macro("OUTPUT_OFFSET")), target);\n}\n\n"

        // Backward: the loss gradient enters buffer A; layers alternate between the two scratch buffers.
        let (a, b) = plan.gradientBuffers
        out +=
            "/* Activation gradients alternate between two scratch buffers of \(plan.gradientBufferCount) elements at \(a) and \(b). */\n"
        out += "void \(m)_backward(real *mem, const real *input, const void *target, real *grad_input, int train) {\n"
        out += "    \(names.layer("loss"))_backward(mem, mem + \(names.macro("OUTPUT_OFFSET")), target, mem + \(a));\n"
        var dout = a
        for index in graph.layers.indices.reversed() {
            let layer = graph.layers[index]
            let dx = dout == a ? b : a
            let dxExpression = index == 0 ? "grad_input" : "mem + \(dx)"
            out += "    \(names.layer(layer.name))_backward(mem, \(inputExpression(index)), mem + \(dout), \(dxExpression), train);\n"
            dout = dx
        }
        out += "}\n"

        if graph.optimizer != nil {
            out += "\nvoid \(m)_update(real *mem, double lr, int64_t step) {\n"
            for t in plan.parameterTensors { out += "    \(names.tensor(t.name))_update(mem, lr, step);\n" }
            if plan.parameterTensors.isEmpty { out += "    (void)mem;\n    (void)lr;\n    (void)step;\n" }
            out += "}\n\n"
            out += """
                double \(m)_train_step(real *mem, const real *input, const void *target, double lr, int64_t step, uint64_t rng) {
                    const double loss = \(m)_forward(mem, input, target, 1, rng);
                    \(m)_backward(mem, input, target, 0, 1);
                    \(m)_update(mem, lr, step);
                    return loss;
                }

                """
        }
        out += """

            /* Threads for the optimized kernels (GCC/Clang builds); see nngen_set_threads in nngen.h. */
            int \(m)_set_threads(int threads) { return nngen_set_threads(threads); }

            """
        return out
    }

    /// The C expression for layer `index`'s input: the network input or the previous layer's output.
    func inputExpression(_ index: Int) -> String {
        index == 0 ? "input" : "mem + \(names.macro(graph.layers[index - 1].name + "_OUTPUT"))"
    }
}
