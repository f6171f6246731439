// The lexer and parser: words and their columns, comments, blank lines, statements, attributes, suggestions.

import Testing

@testable import NNGen

@Suite struct LexerTests {
    func words(_ line: String) -> [String] { Lexer.words(of: line, lineNumber: 1, file: "t.spec").map(\.text) }
    func columns(_ line: String) -> [Int] { Lexer.words(of: line, lineNumber: 1, file: "t.spec").map(\.location.column) }

    @Test func wordsAndOneBasedColumns() {
        let line = "affine  fc1 out=10"
        #expect(words(line) == ["affine", "fc1", "out=10"])
        #expect(columns(line) == [1, 9, 13])
    }

    @Test func bracketsAndCommasAreWordsOfTheirOwn() {
        let line = "input x [128,1, 28 ,28]"
        #expect(words(line) == ["input", "x", "[", "128", ",", "1", ",", "28", ",", "28", "]"])
        #expect(columns(line) == [1, 7, 9, 10, 13, 14, 15, 17, 20, 21, 23])
    }

    @Test func commentsEndTheLine() {
        #expect(words("# a whole-line comment").isEmpty)
        #expect(words("relu   # trailing comment with out=3").map { $0 } == ["relu"])
        #expect(words("relu#glued").map { $0 } == ["relu"])
        #expect(words("   ").isEmpty)
        #expect(words("").isEmpty)
    }

    @Test func aTabIsOneColumn() {
        #expect(columns("\taffine\tfc1") == [2, 9])
        #expect(Lexer.displayLine("\taffine\tfc1") == " affine fc1")
    }

    @Test func tokensCarryTheirLineAndFile() {
        let token = Lexer.words(of: "relu", lineNumber: 7, file: "net.spec")[0]
        #expect(token.location == SourceLocation(file: "net.spec", line: 7, column: 1))
        #expect(token.location.description == "net.spec:7:1")
    }

    @Test func linesSplitAtEveryKindOfNewline() {
        #expect(Lexer.lines(of: "a\nb\r\nc\rd") == ["a", "b", "c", "d"])
        #expect(Lexer.lines(of: "a\n") == ["a", ""])
        #expect(Lexer.lines(of: "") == [""])
    }
}

@Suite struct ParserTests {
    @Test func everyStatementForm() throws {
        let spec = try SpecParser.parse(
            """
            model net
            input img [8, 1, 28, 28]
            dtype float64
            affine fc1 out=10 init=xavier
            relu
            loss softmax
            optimizer sgd lr=0.1
            schedule step every=2 gamma=0.5
            """, path: "net.spec")
        #expect(spec.statements.count == 8)
        guard spec.statements.count == 8 else { return }
        if case .model(let name, _) = spec.statements[0] { #expect(name.text == "net") } else { Issue.record("model") }
        if case .input(let name, let dims, _) = spec.statements[1] {
            #expect(name?.text == "img")
            #expect(dims.map(\.text) == ["8", "1", "28", "28"])
        } else {
            Issue.record("input")
        }
        if case .dtype(let value, _) = spec.statements[2] { #expect(value.text == "float64") } else { Issue.record("dtype") }
        if case .layer(let kind, let name, let attributes) = spec.statements[3] {
            #expect(kind.text == "affine")
            #expect(name?.text == "fc1")
            #expect(attributes.map(\.key.text) == ["out", "init"])
            #expect(attributes.map(\.value.text) == ["10", "xavier"])
        } else {
            Issue.record("affine")
        }
        if case .layer(let kind, let name, let attributes) = spec.statements[4] {
            #expect(kind.text == "relu")
            #expect(name == nil)
            #expect(attributes.isEmpty)
        } else {
            Issue.record("relu")
        }
        if case .loss(let kind, _, _) = spec.statements[5] { #expect(kind.text == "softmax") } else { Issue.record("loss") }
        if case .optimizer(let kind, let attributes, _) = spec.statements[6] {
            #expect(kind.text == "sgd")
            #expect(attributes.first?.value.text == "0.1")
        } else {
            Issue.record("optimizer")
        }
        if case .schedule(let kind, let attributes, _) = spec.statements[7] {
            #expect(kind.text == "step")
            #expect(attributes.count == 2)
        } else {
            Issue.record("schedule")
        }
    }

    @Test func blankLinesAndCommentsAreSkippedButCounted() throws {
        let spec = try SpecParser.parse("# header\n\ninput x [2, 3]   # the input\n   \n\taffine fc1 out=4\n", path: "t.spec")
        #expect(spec.statements.map(\.location.line) == [3, 5])
        #expect(spec.statements.map(\.location.column) == [1, 2])
        #expect(spec.lines.count == 6)
    }

    @Test func anUnnamedInputIsAllowed() throws {
        let spec = try SpecParser.parse("input [2, 3]", path: "t.spec")
        if case .input(let name, let dims, _) = spec.statements[0] {
            #expect(name == nil)
            #expect(dims.count == 2)
        } else {
            Issue.record("input")
        }
    }

    @Test func attributeKeysAndValuesHaveTheirOwnColumns() throws {
        let spec = try SpecParser.parse("batchnorm bn1 eps=1e-3 momentum=0.5", path: "t.spec")
        guard case .layer(_, _, let attributes) = spec.statements[0] else {
            Issue.record("layer")
            return
        }
        #expect(attributes.map(\.key.location.column) == [15, 24])
        #expect(attributes.map(\.value.location.column) == [19, 33])
    }

    @Test func windowsLineEndings() throws {
        let graph = try ShapeInference.load("input x [2, 3]\r\naffine fc1 out=2\r\nloss softmax\r\n", path: "crlf.spec")
        #expect(graph.layers.map(\.output) == [[2, 2]])
        #expect(graph.layers[0].location.line == 2)
    }

    @Test func aSyntaxErrorCarriesItsSourceLine() {
        let thrown = #expect(throws: Diagnostic.self) { try SpecParser.parse("input x [2, 3]\n\taffine fc1 out = 2\n", path: "t.spec") }
        #expect(thrown?.location == SourceLocation(file: "t.spec", line: 2, column: 13))
        #expect(
            thrown?.rendered == """
                t.spec:2:13: error: spaces around '=' in attribute 'out'; hint: write out=2 with no spaces
                     affine fc1 out = 2
                                ^
                """)
    }

    @Test func identifiers() {
        for good in ["fc1", "_x", "A_b_9", "relu"] { #expect(SpecParser.isIdentifier(good), "\(good)") }
        for bad in ["", "1fc", "fc-1", "fc.1", "é", "a b"] { #expect(!SpecParser.isIdentifier(bad), "\(bad)") }
    }
}

@Suite struct AttributeTests {
    let schema = LayerDefinition.batchnorm.attributes
    let here = SourceLocation(file: "t.spec", line: 1, column: 1)

    func raw(_ pairs: [(String, String)]) -> [RawAttribute] {
        pairs.enumerated().map { i, pair in
            RawAttribute(
                key: SpecToken(text: pair.0, location: SourceLocation(file: "t.spec", line: 1, column: 10 * i + 1)),
                value: SpecToken(text: pair.1, location: SourceLocation(file: "t.spec", line: 1, column: 10 * i + 5)))
        }
    }

    @Test func defaultsAreFilledIn() throws {
        let attributes = try Attributes.check([], against: schema, statement: "batchnorm 'bn1'", at: here)
        #expect(attributes.double("eps") == 1e-5)
        #expect(attributes.double("momentum") == 0.9)
        #expect(!attributes.isGiven("eps"))
        #expect(attributes.location(of: "eps") == here)
    }

    @Test func givenValuesAndTheirLocations() throws {
        let attributes = try Attributes.check(raw([("momentum", "0.5")]), against: schema, statement: "batchnorm 'bn1'", at: here)
        #expect(attributes.double("momentum") == 0.5)
        #expect(attributes.isGiven("momentum"))
        #expect(attributes.location(of: "momentum").column == 1)
    }

    @Test func valueKinds() throws {
        let schema = [
            AttributeSpec("n", .integer(min: 1), "n"),
            AttributeSpec("r", .real(min: 0, max: 1, openMin: true), "r"),
            AttributeSpec("k", .size2D, default: .size(3, 3), "k"),
            AttributeSpec("w", .initializer, default: .initializer(.he), "w"),
        ]
        let a = try Attributes.check(
            raw([("n", "7"), ("r", "1"), ("k", "3x5"), ("w", "normal(0.01)")]), against: schema, statement: "s", at: here)
        #expect(a.int("n") == 7)
        #expect(a.double("r") == 1)
        #expect(a.size("k") == (3, 5))
        #expect(a.initializer("w") == .normal(std: 0.01))
        let b = try Attributes.check(raw([("n", "1"), ("r", "0.5")]), against: schema, statement: "s", at: here)
        #expect(b.size("k") == (3, 3))
        #expect(b.initializer("w") == .he)
    }

    @Test func badValuesNameTheAttributeAndTheStatement() {
        let schema = [AttributeSpec("out", .integer(min: 1), "features")]
        func error(_ value: String) -> String? {
            (#expect(throws: Diagnostic.self) {
                try Attributes.check(raw([("out", value)]), against: schema, statement: "affine 'fc1'", at: here)
            })?.message
        }
        #expect(error("x") == "bad value 'x' for 'out' of affine 'fc1': expected a whole number")
        #expect(error("0") == "bad value '0' for 'out' of affine 'fc1': expected a whole number ≥ 1")
        #expect(error("16777217") == "bad value '16777217' for 'out' of affine 'fc1': expected a whole number ≤ 16777216")
    }
}

@Suite struct SuggestionTests {
    @Test func editDistance() {
        #expect(Suggestion.editDistance(Array("affine"), Array("afine")) == 1)
        #expect(Suggestion.editDistance(Array("relu"), Array("rleu")) == 1)
        #expect(Suggestion.editDistance(Array("relu"), Array("relu")) == 0)
        #expect(Suggestion.editDistance(Array(""), Array("abc")) == 3)
    }

    @Test func closeWordsOnly() {
        let kinds = ["affine", "relu", "batchnorm"]
        #expect(Suggestion.closest(to: "afine", in: kinds) == "affine")
        #expect(Suggestion.closest(to: "Relu", in: kinds) == "relu")
        #expect(Suggestion.closest(to: "batchnrom", in: kinds) == "batchnorm")
        #expect(Suggestion.closest(to: "conv", in: kinds) == nil)
        #expect(Suggestion.closest(to: "units", in: ["out", "init"]) == nil)
    }
}
