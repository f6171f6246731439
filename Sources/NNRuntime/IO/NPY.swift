// NPY: read and write NumPy .npy array files (format versions 1.0 and 2.0), parsing the Python dict
// literal of the header with a small hand-written scanner.
import NNGen

/// Reads and writes NumPy `.npy` files, as `numpy.save` and `numpy.load` do.
///
/// ```
/// \x93NUMPY | major minor | header length (u16 LE in 1.0, u32 LE in 2.0) | header | data
/// header: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }  space-padded, ending in '\n'
/// ```
/// Magic, version, length and header together take a multiple of 64 bytes.
public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads the array in the .npy file at `path`.
    public static func read(path: String) throws -> HostTensor {
        try decode(FileBytes.read(path, limit: FileBytes.dataLimit, what: "data file"), origin: path)
    }

    /// Decodes the bytes of a .npy file; `origin` names it in errors.
    public static func decode(_ data: [UInt8], origin: String) throws -> HostTensor {
        let hint = "write the array with numpy.save(path, array)"
        guard !data.isEmpty else {
            throw Diagnostic(file: origin, "file is empty; expected a .npy file", hint: hint)
        }
        guard data.starts(with: magic) else {
            let start = data.prefix(6).map { ($0 < 16 ? "\\x0" : "\\x") + String($0, radix: 16) }.joined()
            throw Diagnostic(
                file: origin, "not a .npy file: it starts with \(start), not the magic \\x93NUMPY", hint: hint)
        }
        guard data.count >= 8 else {
            throw Diagnostic(file: origin, "file is truncated inside the .npy version", hint: hint)
        }
        let (major, minor) = (data[6], data[7])
        let lengthSize: Int
        switch major {
        case 1: lengthSize = 2
        case 2: lengthSize = 4
        default:
            throw Diagnostic(
                file: origin, ".npy format version \(major).\(minor) is not supported; nngen reads 1.0 and 2.0",
                hint: "write with numpy.save, which writes version 1.0 (2.0 only for huge headers)")
        }
        let headerStart = 8 + lengthSize
        guard data.count >= headerStart else {
            throw Diagnostic(file: origin, "file is truncated inside the .npy header length", hint: hint)
        }
        let headerLength = (0..<lengthSize).reduce(0) { $0 | Int(data[8 + $1]) << (8 * $1) }
        let dataStart = headerStart + headerLength
        guard dataStart <= data.count else {
            throw Diagnostic(
                file: origin,
                "file is truncated: the header length is \(headerLength) bytes, but only "
                    + "\(data.count - headerStart) bytes follow it", hint: hint)
        }

        let (descr, fortranOrder, shape) = try parseHeader(Array(data[headerStart..<dataStart]), origin: origin)
        guard let elementType = ElementType.allCases.first(where: { $0.npyDescr == descr }) else {
            let supported = ElementType.allCases.map(\.npyDescr)
            if descr.hasPrefix(">"), supported.contains("<" + descr.dropFirst()) {
                throw Diagnostic(
                    file: origin, "big-endian data ('\(descr)') is not supported",
                    hint: "save little-endian data: numpy.save(path, array.astype('<\(descr.dropFirst())'))")
            }
            throw Diagnostic(
                file: origin,
                "dtype descr '\(descr)' is not supported; supported: " + supported.joined(separator: ", "),
                hint: "convert first, for example numpy.save(path, array.astype(numpy.float32))")
        }
        if fortranOrder {
            throw Diagnostic(
                file: origin, "the array is stored in Fortran (column-major) order, which is not supported",
                hint: "save a C-ordered copy: numpy.save(path, numpy.ascontiguousarray(array))")
        }
        guard let needed = HostTensor.byteCount(shape: shape, elementType: elementType) else {
            throw Diagnostic(file: origin, "shape \(shape) is too large to address", hint: hint)
        }
        let found = data.count - dataStart
        guard found == needed else {
            let problem = found < needed ? "data is truncated" : "file has \(found - needed) bytes after the data"
            throw Diagnostic(
                file: origin,
                "\(problem): shape \(shape) of '\(descr)' needs \(needed) bytes, but \(found) follow the header",
                hint: found < needed ? "the file was cut short; save it again" : "a .npy file holds one array")
        }
        return HostTensor(shape: shape, elementType: elementType, bytes: Array(data[dataStart...]))
    }

    /// Writes `tensor` to `path` atomically, as `numpy.save` would.
    public static func write(_ tensor: HostTensor, to path: String) throws {
        try AtomicFile.write(encode(tensor, origin: path), to: path)
    }

    /// The bytes `numpy.save` writes for `tensor`: format 1.0, or 2.0 when the header needs more than
    /// 65535 bytes.
    public static func encode(_ tensor: HostTensor) throws -> [UInt8] {
        try encode(tensor, origin: nil)
    }

    private static func encode(_ tensor: HostTensor, origin: String?) throws -> [UInt8] {
        try tensor.validate("the array", origin: origin)
        let dims = tensor.shape.map(String.init)
        let shape = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var header = "{'descr': '\(tensor.elementType.npyDescr)', 'fortran_order': False, 'shape': \(shape), }"
        // Like numpy, leave room for the first dimension to grow to 21 digits so the header can be rewritten
        // in place.
        if let first = dims.first { header += String(repeating: " ", count: max(0, 21 - first.count)) }

        let textLength = header.utf8.count + 1  // with the final '\n'
        var lengthSize = 2
        var padding = 64 - (8 + lengthSize + textLength) % 64
        if textLength + padding > 65535 {  // too long for the 2-byte length of version 1.0
            lengthSize = 4
            padding = 64 - (8 + lengthSize + textLength) % 64
        }
        let headerLength = textLength + padding

        var file = magic + [lengthSize == 2 ? 1 : 2, 0]
        file += (0..<lengthSize).map { UInt8(truncatingIfNeeded: headerLength >> (8 * $0)) }
        file += Array(header.utf8) + [UInt8](repeating: UInt8(ascii: " "), count: padding) + [UInt8(ascii: "\n")]
        file += tensor.bytes
        return file
    }

    /// Reads `descr`, `fortran_order` and `shape` from the header dict; every key must be there, once.
    private static func parseHeader(_ text: [UInt8], origin: String) throws
        -> (descr: String, fortranOrder: Bool, shape: [Int])
    {
        var scanner = PythonLiteralScanner(bytes: text, origin: origin)
        var descr: String?
        var fortranOrder: Bool?
        var shape: [Int]?
        try scanner.dict { key, scanner in
            switch key {
            case "descr" where descr == nil: descr = try scanner.string()
            case "fortran_order" where fortranOrder == nil: fortranOrder = try scanner.bool()
            case "shape" where shape == nil: shape = try scanner.tuple()
            case "descr", "fortran_order", "shape": throw scanner.failure("key '\(key)' appears twice")
            default: throw scanner.failure("unexpected key '\(key)'; expected descr, fortran_order and shape")
            }
        }
        try scanner.end()
        guard let descr, let fortranOrder, let shape else {
            let missing = [("descr", descr == nil), ("fortran_order", fortranOrder == nil), ("shape", shape == nil)]
                .filter(\.1).map { "'\($0.0)'" }.joined(separator: ", ")
            throw scanner.failure("the header has no \(missing)")
        }
        return (descr, fortranOrder, shape)
    }
}

/// A cursor over the Python dict literal of a .npy header, reading the few kinds of value it holds:
/// strings, `True`/`False`, and tuples of non-negative integers.
private struct PythonLiteralScanner: ByteScanning {
    let bytes: [UInt8]
    let origin: String
    var position = 0

    /// Reads `{key: value, ...}` (a trailing comma allowed), calling `body` with each key while positioned
    /// at its value.
    mutating func dict(_ body: (String, inout PythonLiteralScanner) throws -> Void) throws {
        try expect("{", "'{'")
        while !consume("}") {
            let key = try string()
            try expect(":", "':'")
            try body(key, &self)
            if !consume(",") {
                try expect("}", "',' or '}'")
                return
            }
        }
    }

    /// Reads a string in single or double quotes.
    mutating func string() throws -> String {
        skipSpace()
        guard let quote = next, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw failure("expected a string, found \(found())")
        }
        let start = position + 1
        guard let end = bytes[start...].firstIndex(of: quote) else {
            throw failure("a string is not closed")
        }
        position = end + 1
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Reads `True` or `False`.
    mutating func bool() throws -> Bool {
        skipSpace()
        for (word, value) in [("True", true), ("False", false)] where bytes[position...].starts(with: word.utf8) {
            position += word.utf8.count
            return value
        }
        throw failure("expected True or False, found \(found())")
    }

    /// Reads a tuple of non-negative integers: `()`, `(5,)`, `(2, 3)`.
    mutating func tuple() throws -> [Int] {
        try expect("(", "a tuple such as (2, 3)")
        var values: [Int] = []
        while !consume(")") {
            values.append(try integer())
            if !consume(",") {
                try expect(")", "',' or ')'")
                break
            }
        }
        return values
    }

    /// Checks that only the padding (spaces and the final newline) follows the dict.
    mutating func end() throws {
        skipSpace()
        if position < bytes.count { throw failure("unexpected \(found()) after the dict") }
    }

    /// An error at the cursor that quotes the header.
    func failure(_ message: String) -> Diagnostic {
        var shown = bytes.prefix(200)
        while let last = shown.last, " \n".utf8.contains(last) { shown.removeLast() }
        let header = String(decoding: shown, as: UTF8.self)
        return Diagnostic(
            file: origin, "invalid .npy header at character \(position): \(message); the header is: \(header)",
            hint: "write the array with numpy.save(path, array)")
    }

    private mutating func integer() throws -> Int {
        skipSpace()
        let start = position
        while let byte = next, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        guard position > start else { throw failure("expected a non-negative integer, found \(found())") }
        guard let value = Int(String(decoding: bytes[start..<position], as: UTF8.self)) else {
            throw failure("dimension \(String(decoding: bytes[start..<position], as: UTF8.self)) is too large")
        }
        return value
    }

    private mutating func expect(_ character: Unicode.Scalar, _ what: String) throws {
        guard consume(character) else { throw failure("expected \(what), found \(found())") }
    }

    /// The token at the cursor, for a message: `'Maybe'`, `'x'`.
    private func found() -> String {
        guard position < bytes.count else { return "the end of the header" }
        let limit = min(bytes.count, position + 24)
        if let quote = next, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") {
            let end = bytes[(position + 1)..<limit].firstIndex(of: quote).map { $0 + 1 } ?? limit
            return String(decoding: bytes[position..<end], as: UTF8.self)
        }
        let delimiters = " ,:()[]{}\n".utf8
        var end = position + 1
        if !delimiters.contains(bytes[position]) {
            while end < limit, !delimiters.contains(bytes[end]) { end += 1 }
        }
        return "'\(String(decoding: bytes[position..<end], as: UTF8.self))'"
    }
}
