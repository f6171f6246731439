// Fails when a committed generated file is out of date, and says which command regenerates it.

import Foundation
import Testing

@testable import NNGen

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite struct FreshnessTests {
    @Test func embeddedTemplatesMatchTemplatesFolder() throws {
        let folder = repositoryRoot + "/templates"
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        #expect(onDisk == TemplateLibrary.embedded.names,
                "templates/ and the embedded templates differ in files; run scripts/embed-templates.sh")
        for name in onDisk {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            #expect(try TemplateLibrary.embedded.text(name) == text,
                    "templates/\(name) changed since it was embedded; run scripts/embed-templates.sh")
        }
    }

    static var exampleSpecs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/examples")) ?? [])
            .filter { $0.hasSuffix(".spec") }.sorted()
    }

    @Test func thereAreExamples() {
        #expect(Self.exampleSpecs.count >= 2)
    }

    @Test(arguments: exampleSpecs)
    func generatedCodeIsUpToDate(spec: String) throws {
        let path = "examples/\(spec)"
        let text = try String(contentsOfFile: repositoryRoot + "/" + path, encoding: .utf8)
        let graph = try ShapeInference.load(text, path: path)
        let source = try Emitter.emit(graph, plan: MemoryPlan.plan(graph), templates: .embedded,
                                      options: EmitOptions(specPath: path))
        let directory = repositoryRoot + "/generated/\(graph.modelName)"
        let header = try? String(contentsOfFile: "\(directory)/\(graph.modelName).h", encoding: .utf8)
        let body = try? String(contentsOfFile: "\(directory)/\(graph.modelName).c", encoding: .utf8)
        let hint = "generated/\(graph.modelName) is stale; run: swift run nngen compile \(path)"
        #expect(header == source.header, "\(hint)")
        #expect(body == source.source, "\(hint)")
    }
}
