// Specs that compile with warnings: each file in WarningSpecs/ starts with the exact warnings it must draw.

import Foundation
import Testing

@testable import NNGen

enum WarningSpecs {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("WarningSpecs").path
    static let prefix = "# warn: "

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".spec") }.sorted()
    }
}

@Suite struct WarningSpecTests {
    @Test func thereAreWarningSpecs() {
        #expect(WarningSpecs.files.count >= 3, "expected the WarningSpecs folder at \(WarningSpecs.folder)")
    }

    @Test(arguments: WarningSpecs.files)
    func compilesWithTheExpectedWarnings(file: String) throws {
        let text = try String(contentsOfFile: WarningSpecs.folder + "/" + file, encoding: .utf8)
        let header = Lexer.lines(of: text).prefix { $0.hasPrefix(WarningSpecs.prefix) }.map {
            String($0.dropFirst(WarningSpecs.prefix.count))
        }
        try #require(!header.isEmpty, "\(file): the first line must be '# warn: <diagnostic>' or '# warn: none'")
        let expected = header == ["none"] ? [] : header
        let graph = try ShapeInference.load(text, path: file)
        #expect(graph.warnings.map(\.description) == expected)
        for warning in graph.warnings {
            #expect(warning.severity == .warning)
            let line = try #require(warning.location?.line)
            #expect(warning.rendered.hasSuffix("^") && warning.sourceLine == Lexer.displayLine(Lexer.lines(of: text)[line - 1]))
        }
    }
}
