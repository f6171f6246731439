// IDX: the array file format of MNIST and Fashion-MNIST, read from plain or gzip-compressed files.
import Foundation
import NNGen

/// Reader for IDX files (http://yann.lecun.com/exdb/mnist/), unsigned-byte element type only.
///
/// ```
/// offset  size       field
/// 0       2          zero bytes 00 00
/// 2       1          element type (08 = unsigned byte)
/// 3       1          number of dimensions n
/// 4       4 * n      dimension sizes, big-endian UInt32
/// 4 + 4n  product    the values, row-major
/// ```
public enum IDX {
    /// Reads, gunzips if needed, and decodes the IDX file at `path`. With a `cache`, a gzip file is
    /// inflated once: its decompressed bytes are stored there, and this and later calls map them from there.
    static func read(path: String, cache: DecodedCache? = nil) throws -> (dims: [Int], values: ReadOnlyBytes) {
        if let decoded = cache?.lookup(source: path) { return try decode(decoded, origin: path) }
        let file = try FileBytes.read(path, limit: FileBytes.dataLimit, what: "data file")
        guard Gzip.isGzip(file) else { return try decode(ReadOnlyBytes(file), origin: path) }
        let decoded = try Gzip.decompress(file, origin: path)
        if let cache {
            cache.store(decoded, source: path)
            if let stored = cache.lookup(source: path) { return try decode(stored, origin: path) }
        }
        return try decode(ReadOnlyBytes(decoded), origin: path)
    }

    /// Decodes IDX bytes into dimension sizes and values. `origin` names the data in errors.
    public static func decode(_ bytes: [UInt8], origin: String) throws -> (dims: [Int], values: [UInt8]) {
        let (dims, values) = try decode(ReadOnlyBytes(bytes), origin: origin)
        return (dims, Array(values))
    }

    /// Decodes IDX bytes into dimension sizes and values (sharing `bytes`' storage). `origin` names the
    /// data in errors.
    static func decode(_ bytes: ReadOnlyBytes, origin: String) throws -> (dims: [Int], values: ReadOnlyBytes) {
        guard bytes.count >= 4 else {
            throw Diagnostic(file: origin, "not an IDX file: only \(bytes.count) bytes, shorter than the 4-byte header")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            let found = "\(hex(bytes[0])) \(hex(bytes[1]))"
            throw Diagnostic(file: origin, "not an IDX file: it must start with bytes 00 00, found \(found)")
        }
        let type = bytes[2]
        guard type == 0x08 else {
            throw Diagnostic(
                file: origin,
                "unsupported IDX element type 0x\(hex(type))\(typeName(type).map { " (\($0))" } ?? ""); "
                    + "only 0x08 (unsigned byte) is supported")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw Diagnostic(file: origin, "IDX file has no dimensions") }
        let dataStart = 4 + 4 * rank
        guard bytes.count >= dataStart else {
            throw Diagnostic(
                file: origin, "truncated: the header declares \(rank) dimensions but ends after \(bytes.count) bytes")
        }

        var dims: [Int] = []
        var expected = 1
        for axis in 0..<rank {
            let at = 4 + 4 * axis
            let size = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            let (product, overflow) = expected.multipliedReportingOverflow(by: size)
            guard !overflow else { throw Diagnostic(file: origin, "IDX dimensions \(dims + [size]) are too large") }
            dims.append(size)
            expected = product
        }

        let found = bytes.count - dataStart
        guard found >= expected else {
            throw Diagnostic(file: origin, "truncated: expected \(expected) bytes of data, found \(found)")
        }
        guard found == expected else {
            throw Diagnostic(
                file: origin, "trailing data: expected \(expected) bytes of data for dimensions \(dims), found \(found)"
            )
        }
        return (dims, bytes.dropFirst(dataStart))
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }

    /// The IDX names of the element types nngen does not read, for error messages.
    private static func typeName(_ type: UInt8) -> String? {
        switch type {
        case 0x09: "signed byte"
        case 0x0B: "16-bit integer"
        case 0x0C: "32-bit integer"
        case 0x0D: "32-bit float"
        case 0x0E: "64-bit float"
        default: nil
        }
    }
}
