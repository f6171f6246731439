// The `nngen` command line: one subcommand per file.

import ArgumentParser
import Foundation
import NNGen
import NNRuntime

@main
struct NNGenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nngen",
        abstract: "Compile a static network spec to shape-specialized C kernels, and run them.",
        subcommands: [
            Check.self, Compile.self, Init.self, Grad.self, Bench.self, Train.self, Eval.self, Predict.self, Import.self,
            ImportWeights.self,
        ])
}

/// Runs a command body; prints any `Diagnostic` as `file:line:col: error: ...` on stderr and exits 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let diagnostic as Diagnostic {
        FileHandle.standardError.write(Data((diagnostic.rendered + "\n").utf8))
        throw ExitCode(1)
    }
}

/// Parses and shape-checks a spec file (or `text`, its contents when the caller has read them); prints its
/// warnings (with the source line and a caret) on stderr.
func loadGraph(
    _ path: String, text: String? = nil, batch: Int? = nil, forwardOnly: Bool = false, warnings: Bool = true
) throws -> ShapedGraph {
    if let batch, batch < 1 || batch > 1 << 20 {
        throw Diagnostic("--batch \(batch) is out of range", hint: "give a batch size from 1 to 1048576")
    }
    let graph = try ShapeInference.load(try text ?? readSpec(path), path: path, batch: batch, forwardOnly: forwardOnly)
    for warning in graph.warnings where warnings { FileHandle.standardError.write(Data((warning.rendered + "\n").utf8)) }
    return graph
}

/// `--backend tcc`
extension Backend: ExpressibleByArgument {}
extension RunMode: ExpressibleByArgument {}
