// Lexer: splits one spec line into located words; `[`, `]` and `,` are words of their own.

enum Lexer {
    /// The lines of a spec: split at `\n`, `\r\n` or `\r` (in Swift `\r\n` is one `Character`, so
    /// splitting at `"\n"` alone would leave a Windows file as one line).
    static func lines(of text: String) -> [String] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    }

    /// The words of one line, comments removed.
    ///
    /// ```
    /// line  := word* ["#" comment]
    /// word  := "[" | "]" | "," | run of other non-space characters
    /// ```
    /// Columns are 1-based and count characters: a tab is one column, as in clang and chibicc.
    static func words(of line: String, lineNumber: Int, file: String) -> [SpecToken] {
        var tokens: [SpecToken] = []
        var current = ""
        var start = 0
        var column = 0
        func flush() {
            if !current.isEmpty {
                tokens.append(SpecToken(text: current, location: SourceLocation(file: file, line: lineNumber, column: start)))
                current = ""
            }
        }
        for ch in line {
            column += 1
            if ch == "#" { break }
            if ch.isWhitespace {
                flush()
            } else if ch == "[" || ch == "]" || ch == "," {
                flush()
                tokens.append(SpecToken(text: String(ch), location: SourceLocation(file: file, line: lineNumber, column: column)))
            } else {
                if current.isEmpty { start = column }
                current.append(ch)
            }
        }
        flush()
        return tokens
    }

    /// A source line as shown under a diagnostic: tabs become single spaces so that the caret, which is
    /// padded with spaces to the column, stands under the right character.
    static func displayLine(_ line: String) -> String {
        String(line.map { $0 == "\t" ? " " : $0 })
    }
}
