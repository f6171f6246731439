// Attributes: the typed `key=value` schema of a layer, loss, optimizer or schedule, and its checking.

/// How a weight tensor is filled at initialization.
public enum Initializer: Sendable, Hashable, CustomStringConvertible {
    case zeros
    case ones
    /// He: normal with variance 2 / fanIn.
    case he
    /// Xavier/Glorot: normal with variance 2 / (fanIn + fanOut).
    case xavier
    /// Normal with the given standard deviation.
    case normal(std: Double)
    /// Uniform on [-a, a].
    case uniform(a: Double)

    public var description: String {
        switch self {
        case .zeros: return "zeros"
        case .ones: return "ones"
        case .he: return "he"
        case .xavier: return "xavier"
        case .normal(let s): return "normal(\(s))"
        case .uniform(let a): return "uniform(\(a))"
        }
    }
}

/// The type of an attribute's value, which decides how its text is read.
public enum AttributeKind: Sendable {
    /// A whole number ≥ `min`.
    case integer(min: Int)
    /// A real number in `range` (`open` excludes the lower bound).
    case real(min: Double, max: Double, openMin: Bool)
    /// `K` or `KHxKW`.
    /// `N` or `NHxNW` (height by width), each a whole number ≥ `min`: a kernel size, a stride, a padding.
    case pair(min: Int)
    /// `he`, `xavier`, `normal(STD)`, `uniform(A)`.
    case initializer
    /// `true` or `false`.
    case boolean
    /// One real number or a comma-separated list of them, each in the range (`mean=0.5` or `mean=0.4,0.5,0.6`).
    case reals(min: Double, max: Double, openMin: Bool)

    /// `K` or `KHxKW` with whole numbers ≥ 1.
    public static let size2D = AttributeKind.pair(min: 1)
}

/// A parsed attribute value.
public enum AttributeValue: Sendable, Hashable {
    case integer(Int)
    case real(Double)
    case size(Int, Int)
    case initializer(Initializer)
    case boolean(Bool)
    case reals([Double])
}

/// One attribute a statement accepts.
public struct AttributeSpec: Sendable {
    public var name: String
    public var kind: AttributeKind
    /// nil means required.
    public var defaultValue: AttributeValue?
    public var summary: String

    public init(_ name: String, _ kind: AttributeKind, default defaultValue: AttributeValue? = nil, _ summary: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

/// The checked attributes of one statement, with defaults filled in.
public struct Attributes: Sendable {
    var values: [String: AttributeValue]
    var locations: [String: SourceLocation]
    /// Where the statement is, for errors about the whole statement.
    public var statementLocation: SourceLocation

    /// The integer value of `name` (declared `.integer` in the schema).
    public func int(_ name: String) -> Int {
        if case .integer(let v)? = values[name] { return v }
        return 0
    }
    /// The real value of `name` (declared `.real`; an integer literal is accepted as real).
    public func double(_ name: String) -> Double {
        switch values[name] {
        case .real(let v)?: return v
        case .integer(let v)?: return Double(v)
        default: return 0
        }
    }
    /// The values of a `.reals` attribute.
    public func reals(_ name: String) -> [Double] {
        if case .reals(let v)? = values[name] { return v }
        return []
    }
    /// The value of a `.boolean` attribute.
    public func bool(_ name: String) -> Bool {
        if case .boolean(let b)? = values[name] { return b }
        return false
    }
    /// The `(height, width)` of a `.pair` attribute.
    public func size(_ name: String) -> (Int, Int) {
        if case .size(let h, let w)? = values[name] { return (h, w) }
        return (0, 0)
    }
    /// The initializer of an `.initializer` attribute.
    public func initializer(_ name: String) -> Initializer {
        if case .initializer(let i)? = values[name] { return i }
        return .zeros
    }
    /// Whether the spec gave `name` explicitly.
    public func isGiven(_ name: String) -> Bool { locations[name] != nil }
    /// Where `name` was written (or the statement, if defaulted).
    public func location(of name: String) -> SourceLocation { locations[name] ?? statementLocation }

    /// Checks raw `key=value` pairs against a schema: unknown, duplicate, missing and malformed attributes
    /// are errors at their location.
    /// `alsoAccepted` names keys the caller handles itself (a layer's `from`), for the hint of an unknown key.
    public static func check(
        _ raw: [RawAttribute], against schema: [AttributeSpec], statement: String,
        at location: SourceLocation, alsoAccepted: [String] = []
    ) throws -> Attributes {
        var result = Attributes(values: [:], locations: [:], statementLocation: location)
        for attribute in raw {
            let key = attribute.key.text
            guard let spec = schema.first(where: { $0.name == key }) else {
                let known = schema.map(\.name) + alsoAccepted
                var hint = known.isEmpty ? "\(statement) takes no attributes" : "it accepts: " + known.joined(separator: ", ")
                if let suggestion = Suggestion.didYouMean(key, in: known) { hint = suggestion + " " + hint }
                throw Diagnostic(at: attribute.key.location, "unknown attribute '\(key)' for \(statement)", hint: hint)
            }
            if let first = result.locations[key] {
                throw Diagnostic(
                    at: attribute.key.location,
                    "attribute '\(key)' is given twice for \(statement) (first at column \(first.column))",
                    hint: "remove one of the two")
            }
            if case .reals(let lo, let hi, let openMin) = spec.kind {
                result.values[key] = .reals(
                    try attribute.items.map { item in
                        guard
                            case .real(let v) = try parseValue(
                                item, kind: .real(min: lo, max: hi, openMin: openMin), key: key, statement: statement)
                        else { return 0 }
                        return v
                    })
            } else if attribute.items.count > 1 {
                throw Diagnostic(
                    at: attribute.items[1].location, "'\(key)' of \(statement) takes one value, not a list",
                    hint: "write \(key)=\(attribute.items[0].text)")
            } else {
                result.values[key] = try parseValue(attribute.value, kind: spec.kind, key: key, statement: statement)
            }
            result.locations[key] = attribute.key.location
        }
        for spec in schema where result.values[spec.name] == nil {
            guard let value = spec.defaultValue else {
                throw Diagnostic(
                    at: location, "\(statement) is missing required attribute '\(spec.name)' (\(spec.summary))",
                    hint: "add \(spec.name)=VALUE")
            }
            result.values[spec.name] = value
        }
        return result
    }

    static func parseValue(_ token: SpecToken, kind: AttributeKind, key: String, statement: String) throws -> AttributeValue {
        let text = token.text
        func bad(_ expected: String) -> Diagnostic {
            Diagnostic(at: token.location, "bad value '\(text)' for '\(key)' of \(statement): expected \(expected)")
        }
        switch kind {
        case .integer(let min):
            let digits = text.drop { $0 == "+" || $0 == "-" }
            guard let v = Int(text) else {
                let tooLarge = !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
                throw bad(tooLarge ? "a whole number ≤ \(largestInteger)" : "a whole number")
            }
            guard v >= min else { throw bad("a whole number ≥ \(min)") }
            guard v <= largestInteger else { throw bad("a whole number ≤ \(largestInteger)") }
            return .integer(v)
        case .real(let lo, let hi, let openMin):
            guard let v = Double(text), v.isFinite else { throw bad("a number") }
            let tooLow = openMin ? v <= lo : v < lo
            guard !tooLow, v <= hi else {
                throw bad("a number in \(openMin ? "(" : "[")\(format(lo)), \(format(hi))]")
            }
            return .real(v)
        case .pair(let min):
            let parts = text.split(separator: "x", omittingEmptySubsequences: false)
            let values = parts.compactMap { Int($0) }
            guard parts.count == 1 || parts.count == 2, values.count == parts.count,
                values.allSatisfy({ $0 >= min && $0 <= largestInteger })
            else {
                throw bad(
                    min == 1
                        ? "a size K or KHxKW of whole numbers ≥ 1 (e.g. 3 or 3x5)"
                        : "N or NHxNW of whole numbers from \(min) to \(largestInteger) (e.g. \(min + 1) or \(min)x\(min + 1))")
            }
            return .size(values[0], values.count == 2 ? values[1] : values[0])
        case .reals(let lo, let hi, let openMin):
            guard case .real(let v) = try parseValue(token, kind: .real(min: lo, max: hi, openMin: openMin), key: key, statement: statement)
            else { throw bad("a number") }
            return .reals([v])
        case .boolean:
            switch text {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: throw bad("true or false")
            }
        case .initializer:
            switch text {
            case "he": return .initializer(.he)
            case "xavier": return .initializer(.xavier)
            default:
                for (prefix, make) in [("normal(", { Initializer.normal(std: $0) }), ("uniform(", { Initializer.uniform(a: $0) })]
                where text.hasPrefix(prefix) && text.hasSuffix(")") {
                    let inner = text.dropFirst(prefix.count).dropLast()
                    guard let v = Double(inner), v.isFinite, v > 0 else {
                        throw bad("\(prefix)X) with a number X > 0")
                    }
                    return .initializer(make(v))
                }
                throw bad("he, xavier, normal(STD) or uniform(A)")
            }
        }
    }

    /// The largest whole-number attribute (2^24): far above any real layer size, and low enough that
    /// shape, parameter and FLOP arithmetic on it cannot overflow.
    public static let largestInteger = 1 << 24

    public static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
