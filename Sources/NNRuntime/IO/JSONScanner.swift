// JSONScanner: reads the JSON header of a safetensors file strictly (duplicate keys, booleans where numbers
// belong, negative sizes are errors), reporting byte offsets.

import NNGen

/// A cursor over the JSON text of a safetensors header that reads the values the format uses; its errors
/// give the byte offset and what was being read.
struct JSONScanner: ByteScanning {
    let bytes: [UInt8]
    let origin: String
    var position = 0
    /// What is being read, for messages: "tensor 'w' shape".
    var context = "header"

    /// Reads an object, calling `body` with each key while positioned at its value.
    mutating func object(_ body: (String, inout JSONScanner) throws -> Void) throws {
        try expect("{", "an object")
        if consume("}") { return }
        repeat {
            let key = try string()
            try expect(":", "':'")
            try body(key, &self)
        } while try separator(closing: "}")
    }

    /// Reads an array, calling `body` positioned at each element.
    mutating func array(_ body: (inout JSONScanner) throws -> Void) throws {
        try expect("[", "an array")
        if consume("]") { return }
        repeat { try body(&self) } while try separator(closing: "]")
    }

    /// Reads an array of non-negative integers.
    mutating func integers() throws -> [Int] {
        var values: [Int] = []
        try array { values.append(try $0.integer()) }
        return values
    }

    /// Reads a non-negative integer (no sign, fraction or exponent).
    mutating func integer() throws -> Int {
        skipSpace()
        let token = numberToken()
        guard !token.isEmpty, token.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw failure("expected a non-negative integer, found \(found(token))")
        }
        guard let value = Int(String(decoding: token, as: UTF8.self)) else {
            throw failure("integer \(found(token)) is too large")
        }
        return value
    }

    /// Reads a string, decoding escapes.
    mutating func string() throws -> String {
        try expect("\"", "a string")
        var utf8: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw failure("a string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case ..<0x20:
                throw failure("a string holds the control character \(byte) unescaped")
            default:
                utf8.append(byte)
            }
        }
        throw failure("a string is not closed before the end of the header")
    }

    /// Skips any JSON value (for tensor fields nngen does not use), nested at most `depth` levels.
    mutating func skipValue(depth: Int = 32) throws {
        guard depth > 0 else { throw failure("values are nested too deeply") }
        skipSpace()
        switch next {
        case UInt8(ascii: "{"): try object { _, scanner in try scanner.skipValue(depth: depth - 1) }
        case UInt8(ascii: "["): try array { try $0.skipValue(depth: depth - 1) }
        case UInt8(ascii: "\""): _ = try string()
        default:
            for literal in ["true", "false", "null"] where bytes[position...].starts(with: literal.utf8) {
                position += literal.utf8.count
                return
            }
            if numberToken().isEmpty { throw failure("expected a value, found \(found([]))") }
        }
    }

    /// Checks that only whitespace (the padding) follows the top-level value.
    mutating func end() throws {
        context = "header"
        skipSpace()
        if position < bytes.count { throw failure("unexpected \(found([])) after the header object") }
    }

    /// Decodes the escape after a backslash.
    private mutating func escape(into utf8: inout [UInt8]) throws {
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F, UInt8(ascii: "b"): 0x08,
            UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
        ]
        guard let letter = next else { throw failure("a string ends inside an escape") }
        position += 1
        if let byte = simple[letter] {
            utf8.append(byte)
            return
        }
        guard letter == UInt8(ascii: "u") else {
            throw failure("unknown escape '\\\(Character(Unicode.Scalar(letter)))'")
        }
        var code = try hexQuad()
        if (0xD800..<0xDC00).contains(code) {
            guard consume("\\"), consume("u") else { throw failure("an escaped surrogate is not paired") }
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else { throw failure("an escaped surrogate is not paired") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw failure("an escaped surrogate is not paired") }
        UTF8.encode(scalar) { utf8.append($0) }
    }

    /// Reads the four hex digits of a `\u` escape.
    private mutating func hexQuad() throws -> UInt32 {
        guard position + 4 <= bytes.count,
            let code = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw failure("a \\u escape needs four hex digits") }
        position += 4
        return code
    }

    /// Consumes the characters a JSON number can contain and returns them.
    private mutating func numberToken() -> ArraySlice<UInt8> {
        let start = position
        while let byte = next, "0123456789+-.eE".utf8.contains(byte) { position += 1 }
        return bytes[start..<position]
    }

    /// Consumes `,` (more elements follow) or the closing bracket (the container ends).
    private mutating func separator(closing: Unicode.Scalar) throws -> Bool {
        if consume(",") { return true }
        if consume(closing) { return false }
        throw failure("expected ',' or '\(closing)', found \(found([]))")
    }

    private mutating func expect(_ character: Unicode.Scalar, _ what: String) throws {
        guard consume(character) else { throw failure("expected \(what), found \(found([]))") }
    }

    /// Describes `token`, or when it is empty the token at the cursor, for a message: `'-2'`, `"name"`.
    private func found(_ token: ArraySlice<UInt8>) -> String {
        if !token.isEmpty { return "'\(String(decoding: token, as: UTF8.self))'" }
        guard position < bytes.count else { return "the end of the header" }
        let limit = min(bytes.count, position + 24)
        if bytes[position] == UInt8(ascii: "\"") {
            let end = bytes[(position + 1)..<limit].firstIndex(of: bytes[position]).map { $0 + 1 } ?? limit
            return String(decoding: bytes[position..<end], as: UTF8.self)
        }
        let delimiters = "{}[],:\" \t\n\r".utf8
        var end = position + 1
        if !delimiters.contains(bytes[position]) {
            while end < limit, !delimiters.contains(bytes[end]) { end += 1 }
        }
        return "'\(String(decoding: bytes[position..<end], as: UTF8.self))'"
    }

    private func failure(_ message: String) -> Diagnostic {
        Diagnostic(
            file: origin, "bad JSON header at byte \(position) (\(context)): \(message)",
            hint: "the file is corrupt or not a safetensors file")
    }
}
