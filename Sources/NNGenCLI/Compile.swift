// nngen compile: write the generated C library of each spec.

import ArgumentParser
import Foundation
import NNGen
import NNRuntime

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write <model>.c and <model>.h for each spec (default folder: generated/<model>/).")

    @Argument(help: "Model specs.") var specs: [String]
    @Option(name: .shortAndLong, help: "Output folder (default: generated/<model>).") var output: String?
    @Flag(help: "Emit #line directives pointing into templates/ (for debugging templates).") var lineDirectives = false
    @Flag(
        help: "A forward-only library: no backward pass, gradients, optimizer state or training step; activations share memory by liveness."
    )
    var inference = false
    @Option(help: "Replace the spec's batch size (e.g. --batch 1 with --inference: one sample at a time).") var batch: Int?
    @Option(
        help: ArgumentHelp(
            "Compile the parameters and buffers of this checkpoint (or nngen init file) into the library as const arrays, with <model>_init_embedded.",
            valueName: "CKPT"))
    var embedWeights: String?

    func run() throws {
        try reportingErrors {
            guard !specs.isEmpty else { throw Diagnostic("no spec given", hint: "nngen compile model.spec") }
            let templates = try TemplateLibrary.current()
            for spec in specs {
                let graph = try loadGraph(spec, batch: batch, forwardOnly: inference)
                let plan = inference ? MemoryPlan.planForward(graph) : MemoryPlan.plan(graph)
                var weights: EmbeddedWeights?
                if let path = embedWeights {
                    let values = try CompiledModel.checkedTensors(
                        try Safetensors.read(path: path, limit: CompiledModel.tensorFileLimit(for: plan)).tensors, plan: plan,
                        modelName: graph.modelName, dtype: graph.dtype, origin: path,
                        ignoringPrefixes: [CompiledModel.optimizerPrefix])
                    weights = EmbeddedWeights(values: values, origin: (path as NSString).lastPathComponent)
                }
                let source = try Emitter.emit(
                    graph, plan: plan, templates: templates,
                    options: EmitOptions(lineDirectives: lineDirectives, specPath: spec, embeddedWeights: weights))
                let directory = output ?? "generated/\(graph.modelName)"
                try AtomicFile.createDirectory(directory)
                try AtomicFile.write(source.header, to: "\(directory)/\(graph.modelName).h")
                try AtomicFile.write(source.source, to: "\(directory)/\(graph.modelName).c")
                print("wrote \(directory)/\(graph.modelName).c and .h")
            }
        }
    }
}
