// Fails when a committed generated file is out of date, and says which command regenerates it.

import Foundation
import Testing

@testable import NNGen

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .path

@Suite struct FreshnessTests {
    /// The EmbedTemplates plugin embeds exactly the files of templates/, byte for byte.
    @Test func embeddedTemplatesMatchTemplatesFolder() throws {
        let folder = repositoryRoot + "/templates"
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        #expect(onDisk == TemplateLibrary.embedded.names, "templates/ and the embedded templates differ in files; rebuild")
        for name in onDisk {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            #expect(try TemplateLibrary.embedded.text(name) == text, "templates/\(name) differs from its embedded copy; rebuild")
        }
    }

    /// A folder loader sees a template that the binary does not embed (the NNGEN_TEMPLATES workflow).
    @Test func folderLoaderListsNewTemplates() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nngen-templates-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for name in TemplateLibrary.embedded.names {
            try TemplateLibrary.embedded.text(name).write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        }
        try "/* brand new */\n".write(toFile: folder + "/brand_new.c", atomically: true, encoding: .utf8)
        try "not a template\n".write(toFile: folder + "/notes.txt", atomically: true, encoding: .utf8)
        let library = try TemplateLibrary.load(directory: folder)
        #expect(try library.text("brand_new.c") == "/* brand new */\n")
        #expect(library.names == (TemplateLibrary.embedded.names + ["brand_new.c"]).sorted())
        #expect(throws: Diagnostic.self) { try TemplateLibrary.load(directory: folder + "/missing") }
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
        let source = try Emitter.emit(
            graph, plan: MemoryPlan.plan(graph), templates: .embedded,
            options: EmitOptions(specPath: path))
        let directory = repositoryRoot + "/generated/\(graph.modelName)"
        let header = try? String(contentsOfFile: "\(directory)/\(graph.modelName).h", encoding: .utf8)
        let body = try? String(contentsOfFile: "\(directory)/\(graph.modelName).c", encoding: .utf8)
        let hint = "generated/\(graph.modelName) is stale; run: swift run nngen compile \(path)"
        #expect(header == source.header, "\(hint)")
        #expect(body == source.source, "\(hint)")
    }
}
