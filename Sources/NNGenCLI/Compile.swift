// nngen compile: write the generated C library of each spec.

import ArgumentParser
import NNGen
import NNRuntime

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write <model>.c and <model>.h for each spec (default folder: generated/<model>/).")

    @Argument(help: "Model specs.") var specs: [String]
    @Option(name: .shortAndLong, help: "Output folder (default: generated/<model>).") var output: String?
    @Flag(help: "Emit #line directives pointing into templates/ (for debugging templates).") var lineDirectives = false

    func run() throws {
        try reportingErrors {
            guard !specs.isEmpty else { throw Diagnostic("no spec given", hint: "nngen compile model.spec") }
            let templates = try TemplateLibrary.current()
            for spec in specs {
                let graph = try loadGraph(spec)
                let source = try Emitter.emit(
                    graph, plan: MemoryPlan.plan(graph), templates: templates,
                    options: EmitOptions(lineDirectives: lineDirectives, specPath: spec))
                let directory = output ?? "generated/\(graph.modelName)"
                try AtomicFile.createDirectory(directory)
                try AtomicFile.write(source.header, to: "\(directory)/\(graph.modelName).h")
                try AtomicFile.write(source.source, to: "\(directory)/\(graph.modelName).c")
                print("wrote \(directory)/\(graph.modelName).c and .h")
            }
        }
    }
}
