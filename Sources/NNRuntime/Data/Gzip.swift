// Gzip: inflates gzip-compressed bytes with zlib, for the `.gz` IDX files of Fashion-MNIST.
import CZlib
import NNGen

/// Decompression of gzip data in memory (RFC 1952), with zlib's `inflate`.
public enum Gzip {
    /// The largest output `decompress` produces by default, a guard against zip bombs: 2 GiB.
    public static let defaultLimit = 1 << 31

    /// Whether `data` starts with the gzip magic bytes `1f 8b`.
    static func isGzip(_ data: [UInt8]) -> Bool {
        data.count >= 2 && data[0] == 0x1f && data[1] == 0x8b
    }

    /// Inflates `data` if it is gzip; returns it unchanged if it is not (so plain files work too).
    ///
    /// Concatenated gzip members are inflated one after the other, as `gunzip` does. `origin` names the
    /// data in errors. Throws a `Diagnostic` when the data is corrupt or truncated, or when the output
    /// would exceed `limit` bytes.
    public static func decompress(_ data: [UInt8], origin: String, limit: Int = defaultLimit) throws -> [UInt8] {
        guard isGzip(data) else { return data }
        // One byte past the limit, so that output of exactly `limit` bytes still fits.
        let capacityLimit = limit + 1
        var output = [UInt8](repeating: 0, count: min(initialCapacity(data), capacityLimit))
        var produced = 0

        var stream = z_stream()
        // windowBits 15 + 32: a 32 KiB window, with the gzip (or zlib) header detected automatically.
        let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw Diagnostic(file: origin, "cannot start gzip decompression (zlib error \(status))")
        }
        defer { inflateEnd(&stream) }

        try data.withUnsafeBufferPointer { input in
            guard let inputBase = input.baseAddress else { return }
            var consumed = 0
            while true {
                // Feed the input in pieces that fit zlib's 32-bit counter.
                if stream.avail_in == 0 && consumed < input.count {
                    let piece = min(input.count - consumed, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: inputBase + consumed)
                    stream.avail_in = UInt32(piece)
                    consumed += piece
                }
                // Make room in the output: double it, up to the limit.
                if produced == output.count {
                    guard output.count < capacityLimit else { throw tooLarge(origin, limit) }
                    let growth = min(max(output.count, 1 << 16), capacityLimit - output.count)
                    output.append(contentsOf: repeatElement(0, count: growth))
                }
                let result = output.withUnsafeMutableBufferPointer { out -> Int32 in
                    guard let outputBase = out.baseAddress else { return Z_MEM_ERROR }
                    let room = min(out.count - produced, Int(UInt32.max))
                    stream.next_out = outputBase + produced
                    stream.avail_out = UInt32(room)
                    let result = inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    return result
                }
                switch result {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // Done, unless another gzip member follows.
                    guard stream.avail_in > 0 || consumed < input.count else { return }
                    inflateReset(&stream)
                case Z_BUF_ERROR where stream.avail_in == 0 && consumed == input.count:
                    throw Diagnostic(file: origin, "gzip data is corrupt: unexpected end of data (truncated file?)")
                case Z_BUF_ERROR:
                    continue  // no progress this call; the loop refills the input or grows the output
                case Z_MEM_ERROR:
                    throw Diagnostic(file: origin, "out of memory while inflating gzip data")
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                    throw Diagnostic(file: origin, "gzip data is corrupt: \(reason)")
                }
            }
        }
        guard produced <= limit else { throw tooLarge(origin, limit) }
        output.removeSubrange(produced...)
        return output
    }

    private static func tooLarge(_ origin: String, _ limit: Int) -> Diagnostic {
        Diagnostic(
            file: origin, "gzip data inflates to more than \(limit) bytes",
            hint: "this is not a data set nngen can hold in memory; check the file")
    }

    /// A first guess at the output size: the gzip trailer's ISIZE (the uncompressed size modulo 2^32),
    /// trusted only up to 16 times the input (a truncated file ends in arbitrary bytes, not its trailer;
    /// output beyond the guess grows by doubling as it is produced).
    private static func initialCapacity(_ data: [UInt8]) -> Int {
        guard data.count >= 18 else { return 1 << 16 }
        let tail = data.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
        return max(1 << 16, min(tail, data.count * 16)) + 1
    }
}
