// AST: the statements of a model.spec, as written, with the source location of every word.

/// One word of a spec with where it stands.
public struct SpecToken: Sendable, Hashable {
    public var text: String
    public var location: SourceLocation
}

/// `key=value` as written; `key=a,b` is a list, whose value is the text `a,b` and whose items are `a` and `b`.
public struct RawAttribute: Sendable, Hashable {
    public var key: SpecToken
    public var value: SpecToken
    /// The comma-separated items of the value, each located (one item for a plain value).
    public var items: [SpecToken]

    public init(key: SpecToken, value: SpecToken, items: [SpecToken]? = nil) {
        self.key = key
        self.value = value
        self.items = items ?? [value]
    }
}

/// One statement (one line) of a spec.
///
/// Grammar, one statement per line, `#` starts a comment (docs/spec.md has the whole contract):
/// ```
/// statement := "model" NAME
///            | "input" [NAME] "[" INT ("," INT)* "]"
///            | "dtype" ("float32" | "float64")
///            | "loss" KIND attribute*
///            | "optimizer" KIND attribute*
///            | "schedule" KIND attribute*
///            | "normalize" attribute*              -- how raw samples become inputs
///            | KIND [NAME] attribute*            -- a layer
/// attribute := KEY "=" VALUE                     -- no spaces around "="
/// NAME      := [A-Za-z_][A-Za-z0-9_]*
/// ```
public enum Statement: Sendable {
    case model(name: SpecToken, keyword: SpecToken)
    case input(name: SpecToken?, dims: [SpecToken], keyword: SpecToken)
    case dtype(value: SpecToken, keyword: SpecToken)
    case layer(kind: SpecToken, name: SpecToken?, attributes: [RawAttribute])
    case loss(kind: SpecToken, attributes: [RawAttribute], keyword: SpecToken)
    case optimizer(kind: SpecToken, attributes: [RawAttribute], keyword: SpecToken)
    case schedule(kind: SpecToken, attributes: [RawAttribute], keyword: SpecToken)
    case normalize(attributes: [RawAttribute], keyword: SpecToken)

    /// Where the statement starts.
    public var location: SourceLocation {
        switch self {
        case .model(_, let k), .input(_, _, let k), .dtype(_, let k), .loss(_, _, let k),
            .optimizer(_, _, let k), .schedule(_, _, let k), .normalize(_, let k):
            return k.location
        case .layer(let kind, _, _):
            return kind.location
        }
    }
}

/// A parsed spec: its statements and the text they came from (for error carets).
public struct SpecFile: Sendable {
    public var path: String
    public var lines: [String]
    public var statements: [Statement]

    /// The source line for a location, for the caret display of a diagnostic (tabs shown as spaces).
    public func sourceLine(at location: SourceLocation) -> String? {
        guard location.file == path, location.line >= 1, location.line <= lines.count else { return nil }
        return Lexer.displayLine(lines[location.line - 1])
    }

    /// The same spec with the input's batch size (its first dimension) replaced, located where the spec
    /// writes it.
    public func withBatch(_ batch: Int) -> SpecFile {
        var copy = self
        copy.statements = statements.map { statement in
            guard case .input(let name, var dims, let keyword) = statement, let first = dims.first else { return statement }
            dims[0] = SpecToken(text: String(batch), location: first.location)
            return .input(name: name, dims: dims, keyword: keyword)
        }
        return copy
    }
}

extension Statement: CustomStringConvertible {
    /// The statement written back in the spec's own syntax: `batchnorm bn1 eps=1e-5` (it parses again).
    public var description: String {
        func attributes(_ list: [RawAttribute]) -> String {
            list.map { " \($0.key.text)=\($0.value.text)" }.joined()
        }
        switch self {
        case .model(let name, _): return "model \(name.text)"
        case .input(let name, let dims, _):
            return "input \(name?.text ?? "x") [" + dims.map(\.text).joined(separator: ", ") + "]"
        case .dtype(let value, _): return "dtype \(value.text)"
        case .layer(let kind, let name, let list):
            return kind.text + (name.map { " \($0.text)" } ?? "") + attributes(list)
        case .loss(let kind, let list, _): return "loss \(kind.text)" + attributes(list)
        case .optimizer(let kind, let list, _): return "optimizer \(kind.text)" + attributes(list)
        case .schedule(let kind, let list, _): return "schedule \(kind.text)" + attributes(list)
        case .normalize(let list, _): return "normalize" + attributes(list)
        }
    }
}
