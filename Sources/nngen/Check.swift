// nngen check: parse and shape-check a spec, print the layer table.

import ArgumentParser
import NNGen

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a spec and print its layers: shapes, parameter counts and forward FLOPs.")

    @Argument(help: "The model spec.") var spec: String

    func run() throws {
        try reportingErrors {
            let graph = try loadGraph(spec)
            print("model \(graph.modelName): \(graph.dtype.rawValue), input \(graph.inputName) \(graph.inputShape), loss \(graph.loss.definition.keyword)"
                  + (graph.optimizer.map { ", optimizer \($0.definition.keyword) lr=\($0.instance.learningRate)" } ?? ""))
            print(LayerTable.render(graph))
            let plan = MemoryPlan.plan(graph)
            let bytes = plan.total * graph.dtype.byteSize
            print("memory: \(LayerTable.group(plan.total)) elements (\(LayerTable.group(bytes)) bytes): parameters \(LayerTable.group(plan.parameters.count)), buffers \(LayerTable.group(plan.buffers.count)), optimizer state \(LayerTable.group(plan.optimizerState.count)), activations \(LayerTable.group(plan.activations.count))")
        }
    }
}
