// ByteScanning: the reading steps both header scanners share (the safetensors JSON header, the .npy dict).

/// A cursor over bytes.
protocol ByteScanning {
    var bytes: [UInt8] { get }
    var position: Int { get set }
}

extension ByteScanning {
    /// The byte at the cursor, or nil at the end.
    var next: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpace() {
        while let byte = next, " \t\n\r".utf8.contains(byte) { position += 1 }
    }

    /// Skips whitespace, then consumes `character` if it is next.
    mutating func consume(_ character: Unicode.Scalar) -> Bool {
        skipSpace()
        guard next == UInt8(ascii: character) else { return false }
        position += 1
        return true
    }
}
