// nngen grad: one forward and backward pass from given parameters and data; writes loss, output and gradients.

import ArgumentParser
import NNGen
import NNRuntime

struct Grad: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one forward and backward pass (no update) and write loss, output, grad.input and grad.NAME.")

    @Argument(help: "The model spec.") var spec: String
    @Option(help: "Parameters and buffers (.safetensors), e.g. from nngen init.") var params: String
    @Option(help: "Input batch (.npy) with the spec's input shape.") var input: String
    @Option(help: "Targets (.npy): int32/int64 class ids [N], or real values [N, K] for loss mse.") var labels: String
    @Option(name: .shortAndLong, help: "Output .safetensors file.") var output: String
    @Option(help: "train (batch statistics) or test (running statistics).") var mode: RunMode = .train
    @Option(help: "tcc (default) or another backend.") var backend: Backend = .tcc

    func run() throws {
        try reportingErrors {
            try AtomicFile.requireWritable(output)  // before any work
            let model = try CompiledModel(graph: try loadGraph(spec), backend: backend)
            let tensors = try GradientDump.run(model: model, parametersPath: params, inputPath: input, targetsPath: labels, mode: mode)
            try Safetensors.write(tensors, metadata: ["model": model.graph.modelName, "mode": mode.rawValue], to: output)
            print("loss \(tensors[0].tensor.doubles()[0]); wrote \(tensors.count) tensors to \(output)")
        }
    }
}
