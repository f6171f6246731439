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

    enum DumpStage: String, ExpressibleByArgument, CaseIterable {
        case statements, plan, c
    }

    func run() throws {
        try reportingErrors {
            let graph = try loadGraph(spec)
            print(
                "model \(graph.modelName): \(graph.dtype.rawValue), input \(graph.inputName) \(graph.inputShape), loss \(graph.loss.definition.keyword)"
                    + (graph.optimizer.map { ", optimizer \($0.definition.keyword) lr=\($0.instance.learningRate)" } ?? ""))
            print(LayerTable.render(graph))
            let plan = MemoryPlan.plan(graph)
            let bytes = plan.total * graph.dtype.byteSize
            defer {
                switch dump {
                case .statements?:
                    if let file = try? SpecParser.parse(try readSpec(spec), path: spec) {
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
            print(
                "memory: \(LayerTable.group(plan.total)) elements (\(LayerTable.group(bytes)) bytes): parameters \(LayerTable.group(plan.parameters.count)), buffers \(LayerTable.group(plan.buffers.count)), optimizer state \(LayerTable.group(plan.optimizerState.count)), activations \(LayerTable.group(plan.activations.count))"
            )
        }
    }
}
