// nngen import: an ONNX model → a spec and its parameters (safetensors), ready for check, grad, train
// --resume-style fine-tuning and compile.

import ArgumentParser
import Foundation
import NNGen
import NNImport
import NNRuntime

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import an ONNX model (as torch.onnx.export writes it): write DIR/NAME.spec and DIR/NAME.safetensors.",
        discussion: "Supported operators: " + ONNXImporter.supported.joined(separator: ", ")
            + ". Anything else is an error naming the node. A final Softmax or LogSoftmax is folded into the loss.")

    @Argument(help: "The .onnx file.") var model: String
    @Option(name: .shortAndLong, help: "Output folder (default: the current one).") var output: String = "."
    @Option(help: "The batch size (needed when the model's batch dimension is dynamic).") var batch: Int?
    @Option(help: "The model name (default: the file's base name).") var name: String?
    @Option(help: "The loss the spec trains with: softmax, svm or mse.") var loss: String = "softmax"
    @Option(help: "An optimizer line for the spec, e.g. \"sgd lr=0.05 momentum=0.9\".") var optimizer: String?

    func run() throws {
        try reportingErrors {
            guard ["softmax", "svm", "mse"].contains(loss) else {
                throw Diagnostic("--loss \(loss) is not a loss", hint: "use softmax, svm or mse")
            }
            if let batch, batch < 1 || batch > 1 << 20 { throw Diagnostic("--batch \(batch) is out of range", hint: "give 1 to 1048576") }
            let imported = try ONNXImporter.importModel(
                path: model, options: ImportOptions(batch: batch, name: name, loss: loss, optimizer: optimizer))
            try AtomicFile.createDirectory(output)
            let spec = "\(output)/\(imported.name).spec"
            let tensors = "\(output)/\(imported.name).safetensors"
            try AtomicFile.requireWritable(spec)
            try AtomicFile.write(imported.spec, to: spec)
            try Safetensors.write(imported.tensors, metadata: ["model": imported.name, "source": model], to: tensors)
            for note in imported.notes { print("note: \(note)") }
            print("wrote \(spec) and \(tensors) (\(imported.tensors.count) tensors)")
        }
    }
}
