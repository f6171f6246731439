// SpecParser: spec text → statements. Checks the form of each line; meaning is checked by inferShapes.

public enum SpecParser {
    /// The words that start a statement other than a layer.
    static let statementKeywords = ["model", "input", "dtype", "loss", "optimizer", "schedule", "normalize"]

    /// spec := (statement? ["#" comment] newline)*
    ///
    /// Throws the first syntax error as a located `Diagnostic`.
    public static func parse(_ text: String, path: String) throws -> SpecFile {
        let lines = Lexer.lines(of: text)
        var statements: [Statement] = []
        for (index, line) in lines.enumerated() {
            let words = Lexer.words(of: line, lineNumber: index + 1, file: path)
            guard !words.isEmpty else { continue }
            do {
                statements.append(try statement(words))
            } catch var diagnostic as Diagnostic {
                diagnostic.sourceLine = Lexer.displayLine(line)
                throw diagnostic
            }
        }
        return SpecFile(path: path, lines: lines, statements: statements)
    }

    /// statement := one of the forms documented on `Statement`.
    static func statement(_ words: [SpecToken]) throws -> Statement {
        let head = words[0]
        let rest = Array(words.dropFirst())
        switch head.text {
        case "model":
            // model := "model" NAME
            guard let name = rest.first else {
                throw Diagnostic(at: head.location, "'model' needs a name", hint: "write e.g. model fashion_mlp")
            }
            try checkIdentifier(name, what: "model name")
            if rest.count > 1 {
                throw Diagnostic(
                    at: rest[1].location, "unexpected '\(rest[1].text)' after the model name '\(name.text)'",
                    hint: "'model' takes exactly one name, e.g. model fashion_mlp")
            }
            return .model(name: name, keyword: head)
        case "input":
            return try input(head, rest)
        case "dtype":
            // dtype := "dtype" ("float32" | "float64")
            guard let value = rest.first else {
                throw Diagnostic(at: head.location, "'dtype' needs a type", hint: "write dtype float32 or dtype float64")
            }
            if rest.count > 1 {
                throw Diagnostic(
                    at: rest[1].location, "unexpected '\(rest[1].text)' after the dtype '\(value.text)'",
                    hint: "'dtype' takes exactly one type: float32 or float64")
            }
            return .dtype(value: value, keyword: head)
        case "normalize":
            // normalize := "normalize" attribute*
            return .normalize(attributes: try attributeList(rest, statement: "normalize", named: false), keyword: head)
        case "loss", "optimizer", "schedule":
            // loss := "loss" KIND attribute*      (the same for optimizer and schedule)
            guard let kind = rest.first else {
                let example = ["loss": "loss softmax", "optimizer": "optimizer sgd lr=0.05"][head.text] ?? "schedule cosine"
                throw Diagnostic(at: head.location, "'\(head.text)' needs a kind", hint: "write e.g. \(example)")
            }
            try checkIdentifier(kind, what: "\(head.text) kind")
            let attributes = try attributeList(Array(rest.dropFirst()), statement: "\(head.text) \(kind.text)", named: false)
            switch head.text {
            case "loss": return .loss(kind: kind, attributes: attributes, keyword: head)
            case "optimizer": return .optimizer(kind: kind, attributes: attributes, keyword: head)
            default: return .schedule(kind: kind, attributes: attributes, keyword: head)
            }
        default:
            guard isIdentifier(head.text) else {
                throw Diagnostic(
                    at: head.location, "'\(head.text)' is not a statement keyword or a layer kind",
                    hint: "a line starts with " + statementKeywords.joined(separator: ", ")
                        + " or a layer kind (" + LayerRegistry.all.map(\.keyword).joined(separator: ", ") + ")")
            }
            do {
                return try layer(head, rest)
            } catch let diagnostic as Diagnostic {
                // A line that is not a layer statement is better explained by its unknown first word.
                throw LayerRegistry.definition(head.text) == nil ? unknownLayerKind(head) : diagnostic
            }
        }
    }

    /// layer := KIND [NAME] attribute*
    static func layer(_ head: SpecToken, _ rest: [SpecToken]) throws -> Statement {
        var name: SpecToken? = nil
        var attributeWords = rest
        if let first = rest.first, !first.text.contains("=") {
            if rest.count > 1, rest[1].text.hasPrefix("=") {
                throw spacedEquals(key: first, value: valueAfterSpacedEquals(Array(rest.dropFirst())))
            }
            try checkIdentifier(first, what: "layer name")
            name = first
            attributeWords = Array(rest.dropFirst())
        }
        let statement = name.map { "\(head.text) '\($0.text)'" } ?? head.text
        return .layer(kind: head, name: name, attributes: try attributeList(attributeWords, statement: statement, named: name != nil))
    }

    /// The error for a layer kind the registry does not know, with the likely fix.
    static func unknownLayerKind(_ kind: SpecToken) -> Diagnostic {
        let word = kind.text
        let layers = LayerRegistry.all.map(\.keyword)
        let known = "known layers: " + layers.joined(separator: ", ")
        let hint: String
        if LossDefinition.definition(word) != nil {
            hint = "'\(word)' is a loss: write 'loss \(word)' after the last layer"
        } else if OptimizerDefinition.definition(word) != nil {
            hint = "'\(word)' is an optimizer: write e.g. 'optimizer \(word) lr=0.05'"
        } else if ShapeInference.scheduleKinds.contains(word) {
            hint = "'\(word)' is a learning-rate schedule: write 'schedule \(word)'"
        } else if let suggestion = Suggestion.didYouMean(word, in: layers + statementKeywords) {
            hint = "\(suggestion) \(known)"
        } else {
            hint = known
        }
        return Diagnostic(at: kind.location, "unknown layer kind '\(word)'", hint: hint)
    }

    /// input := "input" [NAME] "[" INT ("," INT)* "]"
    static func input(_ head: SpecToken, _ rest: [SpecToken]) throws -> Statement {
        var words = rest[...]
        var name: SpecToken? = nil
        if let first = words.first, first.text != "[" {
            try checkIdentifier(first, what: "input name")
            name = first
            words = words.dropFirst()
        }
        guard let open = words.first, open.text == "[" else {
            throw Diagnostic(
                at: (words.first ?? head).location, "'input' needs a shape in brackets",
                hint: "write e.g. input x [128, 784] or input x [128, 1, 28, 28]")
        }
        words = words.dropFirst()
        // What the user probably meant: the words up to ']' without the commas, for hints.
        let inside = words.prefix { $0.text != "]" }.filter { $0.text != "," }.map(\.text)
        let intended = "[" + inside.joined(separator: ", ") + "]"
        var dims: [SpecToken] = []
        while true {
            guard let dim = words.first else {
                throw Diagnostic(at: open.location, "unclosed '[' in the input shape", hint: "close the shape with ']'")
            }
            guard dim.text != "]" && dim.text != "," else {
                throw Diagnostic(
                    at: dim.location, "expected a dimension in the input shape, found '\(dim.text)'",
                    hint: inside.isEmpty ? "write the shape batch first, e.g. [128, 784]" : "write \(intended)")
            }
            dims.append(dim)
            words = words.dropFirst()
            guard let separator = words.first else {
                throw Diagnostic(at: open.location, "unclosed '[' in the input shape", hint: "close the shape with ']'")
            }
            words = words.dropFirst()
            if separator.text == "]" { break }
            guard separator.text == "," else {
                throw Diagnostic(
                    at: separator.location, "missing ',' before '\(separator.text)' in the input shape",
                    hint: "separate dimensions with commas: \(intended)")
            }
        }
        if let extra = words.first {
            throw Diagnostic(
                at: extra.location, "unexpected '\(extra.text)' after the input shape",
                hint: "write the whole shape inside one pair of brackets, e.g. input x [128, 784]")
        }
        return .input(name: name, dims: dims, keyword: head)
    }

    /// attribute* := (KEY "=" VALUE ("," VALUE)*)*, with no spaces around "=".
    ///
    /// A list value (`from=a,b`, spaces after the commas allowed) keeps its items as `RawAttribute.items`
    /// and its text joined with commas. `statement` names the statement in messages (`affine 'fc1'`,
    /// `loss softmax`); `named` says whether a layer already has its name, to explain a stray second word.
    static func attributeList(_ words: [SpecToken], statement: String, named: Bool) throws -> [RawAttribute] {
        var result: [RawAttribute] = []
        var i = 0
        while i < words.count {
            let word = words[i]
            let next = i + 1 < words.count ? words[i + 1] : nil
            if word.text == "," {
                throw Diagnostic(
                    at: word.location, "unexpected ',' in \(statement)",
                    hint: "a list is written key=a,b with nothing between the key and the first item")
            }
            guard let eq = word.text.firstIndex(of: "=") else {
                if let next, next.text.hasPrefix("=") {
                    throw spacedEquals(key: word, value: valueAfterSpacedEquals(Array(words[(i + 1)...])))
                }
                throw Diagnostic(
                    at: word.location, "expected key=value in \(statement), found '\(word.text)'",
                    hint: named
                        ? "a layer has one name; attributes are written key=value"
                        : "attributes are written key=value")
            }
            let key = String(word.text[..<eq])
            let value = String(word.text[word.text.index(after: eq)...])
            guard !key.isEmpty else {
                throw Diagnostic(
                    at: word.location, "'\(word.text)' in \(statement) has no key before '='",
                    hint: "attributes are written key=value")
            }
            guard !value.isEmpty else {
                if let next, !next.text.contains("="), next.text != "," {
                    throw spacedEquals(key: SpecToken(text: key, location: word.location), value: next.text)
                }
                throw Diagnostic(at: word.location, "attribute '\(key)' of \(statement) has no value", hint: "write \(key)=VALUE")
            }
            var valueLocation = word.location
            valueLocation.column += key.count + 1
            var items = [SpecToken(text: value, location: valueLocation)]
            i += 1
            // ", item" pairs after the value make it a list.
            while i < words.count, words[i].text == "," {
                guard i + 1 < words.count, words[i + 1].text != ",", !words[i + 1].text.contains("=") else {
                    throw Diagnostic(
                        at: words[i].location, "the list of '\(key)' in \(statement) ends with ','",
                        hint: "remove the ',' or add the missing item: \(key)=" + items.map(\.text).joined(separator: ",") + ",NAME")
                }
                items.append(words[i + 1])
                i += 2
            }
            let text = items.map(\.text).joined(separator: ",")
            result.append(
                RawAttribute(
                    key: SpecToken(text: key, location: word.location), value: SpecToken(text: text, location: valueLocation), items: items)
            )
        }
        return result
    }

    /// `out = 10` or `out =10` or `out= 10`: the fix, with the value the user wrote.
    static func spacedEquals(key: SpecToken, value: String) -> Diagnostic {
        Diagnostic(at: key.location, "spaces around '=' in attribute '\(key.text)'", hint: "write \(key.text)=\(value) with no spaces")
    }

    /// The value in `["=", "10"]` or `["=10"]`; `VALUE` when there is none.
    static func valueAfterSpacedEquals(_ words: [SpecToken]) -> String {
        guard let first = words.first else { return "VALUE" }
        if first.text != "=" { return String(first.text.dropFirst()) }
        return words.dropFirst().first.map(\.text) ?? "VALUE"
    }

    /// NAME := [A-Za-z_][A-Za-z0-9_]*
    static func isIdentifier(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        return !scalars.isEmpty
            && scalars.enumerated().allSatisfy { i, c in
                c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || (i > 0 && ("0"..."9").contains(c))
            }
    }

    static func checkIdentifier(_ token: SpecToken, what: String) throws {
        guard isIdentifier(token.text) else {
            throw Diagnostic(
                at: token.location, "'\(token.text)' is not a valid \(what)",
                hint: "use letters, digits and '_', starting with a letter or '_' (e.g. fc1)")
        }
    }
}
