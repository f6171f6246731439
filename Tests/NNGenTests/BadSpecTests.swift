// Specs that must fail: each file in BadSpecs/ holds one mistake and, on its first line, the exact diagnostic.

import Foundation
import Testing

@testable import NNGen

/// The folder of specs that must fail, and how to read the expectation on their first line.
///
/// A file starts with `# expect: <diagnostic>`, the one-line form `name.spec:line:col: error: ...; hint: ...`
/// with the path relative to this folder. In the expectation `{layers}`, `{losses}` and `{optimizers}`
/// stand for the registries' keyword lists, so that adding a layer kind does not rewrite these files.
enum BadSpecs {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("BadSpecs").path
    static let expectPrefix = "# expect: "

    /// The file names, sorted.
    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".spec") }.sorted()
    }

    static func expand(_ expectation: String) -> String {
        expectation
            .replacingOccurrences(of: "{layers}", with: LayerRegistry.all.map(\.keyword).joined(separator: ", "))
            .replacingOccurrences(of: "{losses}", with: LossDefinition.all.map(\.keyword).joined(separator: ", "))
            .replacingOccurrences(of: "{optimizers}", with: OptimizerDefinition.all.map(\.keyword).joined(separator: ", "))
    }
}

@Suite struct BadSpecTests {
    @Test func thereAreEnoughBadSpecs() {
        #expect(BadSpecs.files.count >= 30, "expected the BadSpecs folder at \(BadSpecs.folder)")
    }

    @Test(arguments: BadSpecs.files)
    func failsWithTheExpectedDiagnostic(file: String) throws {
        let text = try String(contentsOfFile: BadSpecs.folder + "/" + file, encoding: .utf8)
        let firstLine = String(text.prefix { !$0.isNewline })
        try #require(firstLine.hasPrefix(BadSpecs.expectPrefix), "\(file): the first line must be '# expect: <diagnostic>'")
        let expected = BadSpecs.expand(String(firstLine.dropFirst(BadSpecs.expectPrefix.count)))

        let thrown = #expect(throws: Diagnostic.self, "\(file) must fail") { try ShapeInference.load(text, path: file) }
        guard let diagnostic = thrown else { return }
        #expect(diagnostic.description == expected)
        #expect(!diagnostic.description.contains("\n"), "a diagnostic is one line")

        // When the diagnostic has a line, `rendered` shows that line and a caret under a character of it.
        guard let location = diagnostic.location, location.line > 0 else {
            #expect(diagnostic.rendered == diagnostic.description)
            return
        }
        let sourceLine = Lexer.displayLine(Lexer.lines(of: text)[location.line - 1])
        let caret = String(repeating: " ", count: location.column - 1) + "^"
        #expect(diagnostic.rendered == "\(diagnostic.description)\n    \(sourceLine)\n    \(caret)")
        let pointedAt = sourceLine.dropFirst(location.column - 1).first
        #expect(pointedAt.map { !$0.isWhitespace } == true, "the caret should stand under a word, not at column \(location.column)")
    }
}
