// Diagnostic: the one error type every stage throws, rendered to text in one place.

/// A position in a source file. `line` and `column` are 1-based; a line of 0 means "the file as a whole".
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:col`, `file:line` without a column, or just `file` when no line is known.
    public var description: String {
        line > 0 ? (column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)") : file
    }
}

/// An error meant for a person: where it is, what is wrong, and what to do about it.
///
/// Rendered as one line, `file:line:col: error: message; hint: what to do`, optionally followed by the
/// offending source line and a caret under the column.
public struct Diagnostic: Error, Sendable, CustomStringConvertible, Equatable {
    /// An error stops the stage; a warning (e.g. input rows a convolution never reads) is reported and the
    /// stage goes on.
    public enum Severity: String, Sendable {
        case error, warning
    }

    public var severity: Severity = .error
    public var location: SourceLocation?
    public var message: String
    public var hint: String?
    /// The text of the source line, for the caret display.
    public var sourceLine: String?

    public init(at location: SourceLocation?, _ message: String, hint: String? = nil, sourceLine: String? = nil) {
        self.location = location
        self.message = message
        self.hint = hint
        self.sourceLine = sourceLine
    }

    /// An error about a whole file (a data file, a tensor file): `path: error: message`.
    public init(file: String, _ message: String, hint: String? = nil) {
        self.init(at: SourceLocation(file: file, line: 0, column: 0), message, hint: hint)
    }

    /// A warning at a location: `file:line:col: warning: message; hint: ...`.
    public static func warning(at location: SourceLocation?, _ message: String, hint: String? = nil) -> Diagnostic {
        var diagnostic = Diagnostic(at: location, message, hint: hint)
        diagnostic.severity = .warning
        return diagnostic
    }

    /// An error with no file: `error: message`.
    public init(_ message: String, hint: String? = nil) {
        self.init(at: nil, message, hint: hint)
    }

    /// The one-line form: `file:line:col: error: message; hint: ...`. Control characters are escaped and
    /// the message and hint cut to a bounded length, whatever text from a file they quote.
    public var description: String {
        var text = ""
        if let location { text += Self.printable("\(location)", limit: 500) + ": " }
        text += "\(severity.rawValue): \(Self.printable(message, limit: Self.messageLimit))"
        if let hint { text += "; hint: \(Self.printable(hint, limit: Self.messageLimit))" }
        return text
    }

    /// The one-line form plus the source line and a caret under the column, when known: at most
    /// `excerptWidth` characters of the line, around the column.
    public var rendered: String {
        guard let sourceLine, let location, location.line > 0 else { return description }
        let characters = Array(sourceLine)
        let column = max(0, location.column - 1)
        let start =
            characters.count <= Self.excerptWidth ? 0 : max(0, min(column - Self.excerptWidth / 2, characters.count - Self.excerptWidth))
        let end = min(characters.count, start + Self.excerptWidth)
        var excerpt = Self.printable(String(characters[start..<end]), limit: Self.excerptWidth * 6)
        var caret = String(repeating: " ", count: max(0, column - start))
        if start > 0 {
            excerpt = "…" + excerpt
            caret = " " + caret
        }
        if end < characters.count { excerpt += "…" }
        return "\(description)\n    \(excerpt)\n    \(caret)^"
    }

    /// Characters of a message or hint shown at most.
    static let messageLimit = 2000
    /// Characters of a source line shown at most.
    static let excerptWidth = 120

    /// `text` with control characters escaped (`\u{1B}`) and cut to `limit` characters (`…` and the count
    /// left out), so that nothing a file holds can flood or drive a terminal.
    public static func printable(_ text: String, limit: Int) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                out += "… (\(text.unicodeScalars.count - count) more characters)"
                break
            }
            let value = scalar.value
            if value < 0x20 && scalar != "\t" || (0x7F...0x9F).contains(value) {
                out += "\\u{" + String(value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}
