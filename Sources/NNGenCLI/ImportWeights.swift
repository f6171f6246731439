// nngen import-weights: a PyTorch state_dict (safetensors) onto a hand-written spec, in nngen's names and
// layouts, every decision printed.

import ArgumentParser
import Foundation
import NNGen
import NNImport
import NNRuntime

struct ImportWeights: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-weights",
        abstract: "Map a PyTorch state_dict saved as safetensors onto a spec: by name, else in order by kind.",
        discussion: """
            Layers whose names are the PyTorch module names match by name; the others match in order among \
            layers of their kind (linear, conv, batchnorm, norm). nn.Linear weights are transposed to nngen's \
            [in, out], batchnorm weight/bias become gamma/beta, num_batches_tracked is dropped. Any ambiguity \
            or leftover tensor is an error. Save the state_dict with safetensors.torch.save_file(model.state_dict(), path).
            """)

    @Argument(help: "The model spec.") var spec: String
    @Argument(help: "The state_dict (.safetensors).") var stateDict: String
    @Option(name: .shortAndLong, help: "The parameter file to write (.safetensors), for --params or nngen train --resume-style use.")
    var output: String

    func run() throws {
        try reportingErrors {
            try AtomicFile.requireWritable(output)
            let graph = try loadGraph(spec)
            let plan = MemoryPlan.plan(graph)
            let file = try Safetensors.read(path: stateDict, limit: CompiledModel.tensorFileLimit(for: plan))
            // A file nngen wrote (init, train, import) has its Linear weights in nngen's layout already.
            let nngenLayout = file.metadata["model"] != nil || file.metadata["format"]?.hasPrefix("nngen") == true
            let (tensors, decisions) = try StateDictImporter.convert(
                stateDict: file.tensors, graph: graph, origin: stateDict, nngenLayout: nngenLayout)
            _ = try CompiledModel.checkedTensors(tensors, plan: plan, modelName: graph.modelName, dtype: graph.dtype, origin: stateDict)
            for line in decisions { print(line) }
            try Safetensors.write(tensors, metadata: ["model": graph.modelName, "source": stateDict], to: output)
            print("wrote \(output) (\(tensors.count) tensors)")
        }
    }
}
