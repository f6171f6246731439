// The data flags of nngen train: Fashion-MNIST by default, or .npy pairs for training and testing.

import ArgumentParser
import NNRuntime

struct DataOptions: ParsableArguments {
    @Option(help: "Training samples (.npy, [N, ...]); default: Fashion-MNIST.") var data: String?
    @Option(help: "Training class ids (.npy, [N] int32/int64).") var labels: String?
    @Option(help: "Test samples (.npy); default: the Fashion-MNIST test set when training on Fashion-MNIST.") var testData: String?
    @Option(help: "Test class ids (.npy).") var testLabels: String?
    @Option(help: "Folder of the Fashion-MNIST .gz IDX files.") var fashionMnist = FashionMNIST.defaultDirectory

    /// The training set and the test set (nil: none) the flags select.
    func sources() throws -> (training: DataSource, test: DataSource?) {
        let training = try DataSource.npyPair(data: data, labels: labels, dataFlag: "--data", labelsFlag: "--labels")
        let test = try DataSource.npyPair(data: testData, labels: testLabels, dataFlag: "--test-data", labelsFlag: "--test-labels")
        guard let training else {
            return (.fashionMNIST(directory: fashionMnist, split: .train), test ?? .fashionMNIST(directory: fashionMnist, split: .test))
        }
        return (training, test)
    }
}
