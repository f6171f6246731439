// Safetensors: read and write the safetensors tensor file format (an 8-byte header length, a JSON header
// giving each tensor's dtype, shape and byte range, then the raw data), validating everything it reads.
import NNGen

/// Reads and writes safetensors files.
///
/// ```
/// u64 N (little-endian) | N bytes of UTF-8 JSON, space-padded | data buffer
/// {"__metadata__": {"key": "value"}, "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
/// ```
/// `data_offsets` are `[begin, end)` byte offsets into the data buffer.
public enum Safetensors {
    /// One tensor of the header; its data is `begin..<end` of the data buffer.
    private typealias Entry = (name: String, elementType: ElementType, shape: [Int], begin: Int, end: Int)

    /// A header longer than this is taken as a sign of a corrupt file rather than allocated.
    static let maxHeaderLength = 100_000_000

    /// The largest tensor file read when no model bounds it: 16 GiB.
    public static let defaultLimit = 1 << 34

    /// Reads the file at `path` (at most `limit` bytes): tensors in file order (by data offset), and the
    /// `__metadata__` strings.
    public static func read(path: String, limit: Int = defaultLimit) throws
        -> (tensors: [(name: String, tensor: HostTensor)], metadata: [String: String])
    {
        try decode(FileBytes.read(path, limit: limit, what: "tensor file"), origin: path)
    }

    /// Decodes the bytes of a safetensors file; `origin` names it in errors.
    ///
    /// Tensors come in file order (sorted by data offset); the optional `__metadata__` object of strings
    /// is returned separately.
    public static func decode(_ data: [UInt8], origin: String) throws
        -> (tensors: [(name: String, tensor: HostTensor)], metadata: [String: String])
    {
        let hint = "the file is corrupt or not a safetensors file; write it with safetensors' save_file"
        guard !data.isEmpty else {
            throw Diagnostic(file: origin, "file is empty; expected a safetensors file", hint: hint)
        }
        guard data.count >= 8 else {
            throw Diagnostic(
                file: origin,
                "file is truncated: \(data.count) bytes, but a safetensors file starts with an "
                    + "8-byte header length", hint: hint)
        }
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[$1]) << (8 * $1) }
        guard headerLength <= maxHeaderLength else {
            throw Diagnostic(
                file: origin,
                "header length \(headerLength) bytes is over the \(maxHeaderLength / 1_000_000) MB "
                    + "limit", hint: hint)
        }
        let dataStart = 8 + Int(headerLength)
        guard dataStart <= data.count else {
            throw Diagnostic(
                file: origin,
                "file is truncated: the header length is \(headerLength) bytes, but only "
                    + "\(data.count - 8) bytes follow it", hint: hint)
        }

        var scanner = JSONScanner(bytes: Array(data[8..<dataStart]), origin: origin)
        var entries: [Entry] = []
        var names: Set<String> = []
        var metadata: [String: String] = [:]
        try scanner.object { name, scanner in
            guard names.insert(name).inserted else {
                throw Diagnostic(file: origin, "the header names '\(name)' twice", hint: hint)
            }
            if name == "__metadata__" {
                try scanner.object { key, scanner in
                    scanner.context = "__metadata__ '\(key)'"
                    let value = try scanner.string()
                    guard metadata.updateValue(value, forKey: key) == nil else {
                        throw Diagnostic(file: origin, "__metadata__ names '\(key)' twice", hint: hint)
                    }
                }
            } else {
                entries.append(try entry(name, &scanner, dataSize: data.count - dataStart))
            }
        }
        try scanner.end()

        // The tensors' bytes tile the data exactly: none shares bytes with another, none is left over.
        let ordered = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        for (index, entry) in ordered.enumerated() where entry.end > entry.begin {
            if let previous = ordered[..<index].last(where: { $0.end > $0.begin }), previous.end > entry.begin {
                throw Diagnostic(
                    file: origin,
                    "tensors '\(previous.name)' (bytes \(previous.begin)..<\(previous.end)) and '\(entry.name)' (bytes \(entry.begin)..<\(entry.end)) overlap",
                    hint: hint)
            }
            covered += entry.end - entry.begin
        }
        guard covered == data.count - dataStart else {
            throw Diagnostic(
                file: origin,
                "the data holds \(data.count - dataStart) bytes, but the tensors cover \(covered): \(data.count - dataStart - covered) bytes belong to no tensor",
                hint: hint)
        }

        let tensors = entries.enumerated()
            .sorted { ($0.element.begin, $0.offset) < ($1.element.begin, $1.offset) }
            .map { _, entry in
                let bytes = Array(data[(dataStart + entry.begin)..<(dataStart + entry.end)])
                let tensor = HostTensor(shape: entry.shape, elementType: entry.elementType, bytes: bytes)
                return (name: entry.name, tensor: tensor)
            }
        return (tensors, metadata)
    }

    /// Writes `tensors` (in the order given) and `metadata` to `path` atomically.
    public static func write(
        _ tensors: [(name: String, tensor: HostTensor)], metadata: [String: String] = [:], to path: String
    ) throws {
        try AtomicFile.write(encode(tensors, metadata, origin: path), to: path)
    }

    /// The bytes of a safetensors file holding `tensors` and `metadata`.
    ///
    /// The output is deterministic: `__metadata__` first with its keys sorted, then the tensors in the
    /// order given with their data contiguous in that order, and the header padded with spaces to a
    /// multiple of 8 bytes.
    public static func encode(
        _ tensors: [(name: String, tensor: HostTensor)], metadata: [String: String] = [:]
    ) throws -> [UInt8] {
        try encode(tensors, metadata, origin: nil)
    }

    private static func encode(
        _ tensors: [(name: String, tensor: HostTensor)], _ metadata: [String: String], origin: String?
    ) throws -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + quoted($0.value) }
            fields.append(quoted("__metadata__") + ":{" + pairs.joined(separator: ",") + "}")
        }
        var names: Set<String> = []
        var offset = 0
        for (name, tensor) in tensors {
            guard name != "__metadata__" else {
                throw Diagnostic(origin: origin, "'__metadata__' is reserved and cannot name a tensor")
            }
            guard names.insert(name).inserted else {
                throw Diagnostic(
                    origin: origin, "two tensors are named '\(name)'", hint: "give every tensor a unique name")
            }
            try tensor.validate("tensor '\(name)'", origin: origin)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            let end = offset + tensor.bytes.count
            fields.append(
                quoted(name) + ":{\"dtype\":\"\(tensor.elementType.safetensorsName)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        var file: [UInt8] = []
        file.reserveCapacity(8 + header.count + offset)
        file += (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) }
        file += header
        for (_, tensor) in tensors { file += tensor.bytes }
        return file
    }

    /// Reads one tensor's header entry and checks it against the data buffer of `dataSize` bytes.
    private static func entry(_ name: String, _ scanner: inout JSONScanner, dataSize: Int) throws -> Entry {
        let origin = scanner.origin
        var dtype: String?
        var shape: [Int]?
        var offsets: [Int]?
        try scanner.object { field, scanner in
            scanner.context = "tensor '\(name)' \(field)"
            switch field {
            case "dtype": dtype = try scanner.string()
            case "shape": shape = try scanner.integers()
            case "data_offsets": offsets = try scanner.integers()
            default: try scanner.skipValue()
            }
        }
        guard let dtype, let shape, let offsets else {
            let missing = [("dtype", dtype == nil), ("shape", shape == nil), ("data_offsets", offsets == nil)]
                .filter(\.1).map { "'\($0.0)'" }.joined(separator: ", ")
            throw Diagnostic(file: origin, "tensor '\(name)' has no \(missing) in the header")
        }
        let supported = ElementType.allCases.map(\.safetensorsName)
        guard let elementType = ElementType.allCases.first(where: { $0.safetensorsName == dtype }) else {
            throw Diagnostic(
                file: origin,
                "tensor '\(name)' has dtype '\(dtype)', which is not supported; supported dtypes: "
                    + supported.joined(separator: ", "),
                hint: "convert the tensor to one of them before saving")
        }
        guard offsets.count == 2 else {
            throw Diagnostic(file: origin, "tensor '\(name)' data_offsets \(offsets) must be [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end, end <= dataSize else {
            throw Diagnostic(
                file: origin,
                "tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the data buffer of \(dataSize) bytes",
                hint: "the file is truncated or corrupt")
        }
        let needed = HostTensor.byteCount(shape: shape, elementType: elementType)
        guard needed == end - begin else {
            throw Diagnostic(
                file: origin,
                "tensor '\(name)' shape \(shape) of \(dtype) needs "
                    + (needed.map { "\($0) bytes" } ?? "more bytes than can be addressed")
                    + ", but its data_offsets [\(begin), \(end)] span \(end - begin) bytes")
        }
        return (name, elementType, shape, begin, end)
    }

    /// `text` as a JSON string literal.
    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
