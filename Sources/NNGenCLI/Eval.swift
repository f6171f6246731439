// nngen eval: test loss, accuracy and confusion matrix of trained parameters.

import ArgumentParser
import NNGen
import NNRuntime

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate parameters on a test set: loss, accuracy and the confusion matrix.")

    @Argument(help: "The model spec.") var spec: String
    @Option(help: "A checkpoint from nngen train --save, or parameters from nngen init (.safetensors).") var params: String
    @Option(help: "Samples (.npy, [N, ...]); default: the Fashion-MNIST test set.") var data: String?
    @Option(help: "Class ids (.npy, [N]).") var labels: String?
    @Option(help: "Folder of the Fashion-MNIST .gz IDX files.") var fashionMnist = FashionMNIST.defaultDirectory
    @Option(help: "How to compile the generated C.") var backend: Backend = .tiered

    func run() throws {
        try reportingErrors {
            let graph = try loadGraph(spec)
            let source =
                try DataSource.npyPair(data: data, labels: labels, dataFlag: "--data", labelsFlag: "--labels")
                ?? .fashionMNIST(directory: fashionMnist, split: .test)
            let dataset = try source.load(for: graph)
            guard dataset.count > 0 else {
                throw Diagnostic(file: source.description, "the data set has no samples: there is nothing to evaluate")
            }
            let model = try CompiledModel(graph: graph, backend: backend)
            try model.loadParameters(from: params)
            let evaluation = model.evaluate(dataset)
            print("model \(graph.modelName), parameters \(params), data \(source): \(evaluation.count) samples")
            print(
                String(
                    format: "test loss %.4f  accuracy %.2f%% (%d of %d)", evaluation.loss, 100 * evaluation.accuracy,
                    evaluation.correct, evaluation.count))
            print("confusion matrix (rows: true class, columns: predicted class):")
            let names = evaluation.confusion.count == FashionMNIST.classCount ? FashionMNIST.classNames : nil
            print(evaluation.confusionTable(classNames: names))
        }
    }
}
