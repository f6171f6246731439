// nngen predict: class probabilities (softmax of the outputs) for any number of samples.

import ArgumentParser
import Foundation
import NNGen
import NNRuntime

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write class probabilities [N, classes] (softmax of the network outputs, test mode) for the samples of a .npy file.")

    @Argument(help: "The model spec.") var spec: String
    @Option(help: "A checkpoint from nngen train --save, or parameters from nngen init (.safetensors).") var params: String
    @Option(help: "Samples (.npy, [N, ...]), any N.") var input: String
    @Option(name: .shortAndLong, help: "Output .npy file.") var output: String
    @Option(help: "How to compile the generated C.") var backend: Backend = .tiered

    func run() throws {
        try reportingErrors {
            try AtomicFile.requireWritable(output)  // before any work
            let graph = try loadGraph(spec)
            let samples = try NPY.read(path: input)
            let features = graph.inputShape.featureCount
            guard samples.shape.count >= 2, samples.shape.dropFirst().reduce(1, *) == features else {
                throw Diagnostic(
                    file: input,
                    "samples have shape \(TensorShape(samples.shape)); input '\(graph.inputName)' \(graph.inputShape) needs [N, ...] with \(features) values per sample"
                )
            }
            let model = try CompiledModel(graph: graph, backend: backend)
            try model.loadParameters(from: params)
            let count = samples.shape[0]
            // uint8 samples are raw bytes: they go through the spec's normalize (or b / 255); float samples
            // are taken as preprocessed, with a warning when they look raw.
            let values: [Double]
            if samples.elementType == .uint8 {
                let map = ByteMap(graph.bytePreprocessing, channels: graph.inputShape[1], featureCount: features)
                values = samples.bytes.enumerated().map { Double(map.value($0.element, feature: $0.offset % features)) }
            } else {
                values = samples.doubles()
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw Diagnostic(file: input, "sample \(bad / max(features, 1)) holds a non-finite value (\(values[bad]))")
                }
                if let warning = InputSanity.warning(values, graph: graph) {
                    FileHandle.standardError.write(Data("\(input): warning: \(warning)\n".utf8))
                }
            }
            let probabilities = try model.predictProbabilities(values, count: count)
            let classes = graph.outputShape.featureCount
            try NPY.write(HostTensor(shape: [count, classes], doubles: probabilities, as: graph.dtype.elementType), to: output)
            print("wrote \(output): probabilities [\(count), \(classes)] (\(graph.dtype.rawValue))")
        }
    }
}
