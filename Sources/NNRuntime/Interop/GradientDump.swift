// GradientDump: what `nngen grad` computes — one forward and backward pass from files, no update — so any
// other framework can be compared with nngen tensor by tensor.

import NNGen

public enum GradientDump {
    /// Loads parameters (safetensors), an input batch and targets (.npy), runs forward and backward in `mode`,
    /// and returns `loss` ([1]), `output`, `grad.input` and `grad.NAME` for every parameter, in the model's dtype.
    public static func run(
        model: CompiledModel, parametersPath: String, inputPath: String, targetsPath: String,
        mode: RunMode
    ) throws -> [(name: String, tensor: HostTensor)] {
        let graph = model.graph
        try model.importTensors(
            try Safetensors.read(path: parametersPath, limit: model.tensorFileLimit).tensors, origin: parametersPath)
        let input = try NPY.read(path: inputPath)
        guard input.shape == graph.inputShape.dims else {
            throw Diagnostic(
                file: inputPath, "input has shape \(TensorShape(input.shape)); '\(graph.inputName)' is \(graph.inputShape)",
                hint: "reshape it to \(graph.inputShape) before saving")
        }
        guard input.elementType == .float32 || input.elementType == .float64 else {
            throw Diagnostic(file: inputPath, "input is \(input.elementType.rawValue); expected float32 or float64")
        }
        let values = input.doubles()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw Diagnostic(
                file: inputPath,
                "sample \(bad / max(graph.inputShape.featureCount, 1)) holds a non-finite value (\(values[bad])) at index \(bad)")
        }
        let target = try readTarget(targetsPath, graph: graph)
        if case .values(let targets) = target, let bad = targets.firstIndex(where: { !$0.isFinite }) {
            throw Diagnostic(file: targetsPath, "target \(bad) is not finite (\(targets[bad]))")
        }
        let loss = try model.forward(input: values, target: target, mode: mode)
        let inputGradient = model.backward(mode: mode)
        let element = graph.dtype.elementType
        return [
            ("loss", HostTensor(shape: [1], doubles: [loss], as: element)),
            ("output", HostTensor(shape: graph.outputShape.dims, doubles: model.output, as: element)),
            ("grad.input", HostTensor(shape: graph.inputShape.dims, doubles: inputGradient, as: element)),
        ] + model.exportGradients()
    }

    /// Reads class ids (int32/int64, `[N]`) or dense targets (float, the output shape) as the loss needs.
    public static func readTarget(_ path: String, graph: ShapedGraph) throws -> LossTarget {
        let tensor = try NPY.read(path: path)
        switch graph.loss.definition.target {
        case .classIndices:
            guard tensor.elementType == .int32 || tensor.elementType == .int64 else {
                throw Diagnostic(file: path, "labels are \(tensor.elementType.rawValue); expected int32 or int64 class ids")
            }
            guard tensor.shape == [graph.batch] else {
                throw Diagnostic(file: path, "labels have shape \(TensorShape(tensor.shape)); expected [\(graph.batch)]")
            }
            let ids = tensor.integers()
            let classes = graph.outputShape.featureCount
            if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= classes }) {
                throw Diagnostic(file: path, "label \(ids[bad]) at index \(bad) is not a class id in 0..<\(classes)")
            }
            return .classes(ids.map { Int32($0) })
        case .dense:
            guard tensor.shape == graph.outputShape.dims else {
                throw Diagnostic(file: path, "targets have shape \(TensorShape(tensor.shape)); expected \(graph.outputShape)")
            }
            guard tensor.elementType == .float32 || tensor.elementType == .float64 else {
                throw Diagnostic(file: path, "targets are \(tensor.elementType.rawValue); expected float32 or float64")
            }
            return .values(tensor.doubles())
        }
    }
}
