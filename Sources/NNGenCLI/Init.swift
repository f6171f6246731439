// nngen init: write a model's freshly initialized parameters and buffers to a safetensors file.

import ArgumentParser
import NNGen
import NNRuntime

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every parameter and buffer, initialized from a seed, to a safetensors file.")

    @Argument(help: "The model spec.") var spec: String
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(name: .shortAndLong, help: "Output .safetensors file.") var output: String

    func run() throws {
        try reportingErrors {
            try AtomicFile.requireWritable(output)  // before any work
            let model = try CompiledModel(graph: try loadGraph(spec))
            model.initialize(seed: seed)
            try Safetensors.write(model.exportTensors(), metadata: ["model": model.graph.modelName, "seed": String(seed)], to: output)
            print("wrote \(model.plan.tensors.count) tensors of \(model.graph.modelName) to \(output)")
        }
    }
}
