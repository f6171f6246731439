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
    @Option(help: "train (batch statistics) or test (running statistics).") var mode: Mode = .train

    func run() throws {
        try reportingErrors {
            let model = try Model(graph: try loadGraph(spec))
            let graph = model.graph
            try model.importTensors(try Safetensors.read(path: params).tensors, origin: params)
            let inputTensor = try NPY.read(path: input)
            guard inputTensor.shape == graph.inputShape.dims else {
                throw Diagnostic(file: input, "input has shape \(Shape(inputTensor.shape)); '\(graph.inputName)' is \(graph.inputShape)")
            }
            let labelTensor = try NPY.read(path: labels)
            let target: Target
            switch graph.loss.definition.target {
            case .classIndices:
                guard labelTensor.elementType == .int32 || labelTensor.elementType == .int64 else {
                    throw Diagnostic(file: labels, "labels are \(labelTensor.elementType.rawValue); expected int32 or int64 class ids")
                }
                guard labelTensor.shape == [graph.batch] else {
                    throw Diagnostic(file: labels, "labels have shape \(Shape(labelTensor.shape)); expected [\(graph.batch)]")
                }
                let ids = labelTensor.integers()
                if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= graph.outputShape[1] }) {
                    throw Diagnostic(file: labels, "label \(ids[bad]) at index \(bad) is not a class id in 0..<\(graph.outputShape[1])")
                }
                target = .classes(ids.map { Int32($0) })
            case .dense:
                guard labelTensor.shape == graph.outputShape.dims else {
                    throw Diagnostic(file: labels, "targets have shape \(Shape(labelTensor.shape)); expected \(graph.outputShape)")
                }
                target = .values(labelTensor.doubles())
            }
            let loss = try model.forward(input: inputTensor.doubles(), target: target, mode: mode)
            let inputGradient = model.backward(mode: mode)
            let element = graph.dtype.elementType
            var tensors: [(name: String, tensor: HostTensor)] = [
                ("loss", HostTensor(shape: [1], doubles: [loss], as: element)),
                ("output", HostTensor(shape: graph.outputShape.dims, doubles: model.output, as: element)),
                ("grad.input", HostTensor(shape: graph.inputShape.dims, doubles: inputGradient, as: element)),
            ]
            tensors += model.exportGradients()
            try Safetensors.write(tensors, metadata: ["model": graph.modelName, "mode": mode.rawValue], to: output)
            print("loss \(loss); wrote \(tensors.count) tensors to \(output)")
        }
    }
}
