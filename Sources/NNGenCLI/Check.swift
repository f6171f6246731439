// nngen check: parse and shape-check a spec, print the layer table.

import ArgumentParser
import NNGen
import NNRuntime

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a spec and print its layers: shapes, parameter counts and forward FLOPs.")

    @Argument(help: "The model spec.") var spec: String
    @Option(
        help:
            "Also print one stage's result: statements (the parsed spec), plan (the memory layout) or c (the generated C as one translation unit)."
    )
    var dump: DumpStage?
    @Flag(help: "Check and dump the forward-only build (nngen compile --inference).") var inference = false
    @Option(help: "Replace the spec's batch size (e.g. 1 for an inference build).") var batch: Int?

    enum DumpStage: String, ExpressibleByArgument, CaseIterable {
        case statements, plan, c
    }

    func run() throws {
        try reportingErrors {
            let text = try readSpec(spec)  // read once: the statements dump and the batch-1 plan parse it again
            let graph = try loadGraph(spec, text: text, batch: batch, forwardOnly: inference)
            print(
                "model \(graph.modelName): \(graph.dtype.rawValue), input \(graph.inputName) \(graph.inputShape), loss \(graph.loss.specText)"
                    + (graph.optimizer.map { ", optimizer \($0.definition.keyword) lr=\($0.instance.learningRate)" } ?? ""))
            print(LayerTable.render(graph))
            let plan = inference ? MemoryPlan.planForward(graph) : MemoryPlan.plan(graph)
            let bytes = plan.total * graph.dtype.byteSize
            defer {
                switch dump {
                case .statements?:
                    if let file = try? SpecParser.parse(text, path: spec) {
                        print("\nstatements:")
                        for statement in file.statements { print("  \(statement.location): \(statement)") }
                    }
                case .plan?:
                    print("\nmemory plan (offsets and sizes in elements of \(graph.dtype.cType)):")
                    print(plan.render(graph))
                case .c?:
                    if let source = try? Emitter.emit(graph, plan: plan, templates: TemplateLibrary.current()) {
                        print(source.singleUnit)
                    }
                case nil:
                    break
                }
            }
            let what = inference ? "memory (forward only)" : "memory"
            print(
                "\(what): \(LayerTable.group(plan.total)) elements (\(LayerTable.group(bytes)) bytes): parameters \(LayerTable.group(plan.parameters.count)), buffers \(LayerTable.group(plan.buffers.count)), optimizer state \(LayerTable.group(plan.optimizerState.count)), activations \(LayerTable.group(plan.activations.count))"
            )
            if !inference {
                // What `nngen compile --inference` needs, at this batch and one sample at a time.
                let forward = MemoryPlan.planForward(graph)
                var line = "inference build (compile --inference): \(LayerTable.group(forward.total * graph.dtype.byteSize)) bytes"
                if graph.batch > 1, let single = try? ShapeInference.load(text, path: spec, batch: 1, forwardOnly: true) {
                    line += ", with --batch 1: \(LayerTable.group(MemoryPlan.planForward(single).total * graph.dtype.byteSize)) bytes"
                }
                print(line)
            }
        }
    }
}
