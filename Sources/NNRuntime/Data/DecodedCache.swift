// DecodedCache: keeps the decompressed bytes of a data file in the nngen cache directory, so that the
// next start reads them back instead of running zlib again.

import Foundation
import NNGen

/// Decompressed copies of data files, in `<cache directory>/data` (the cc backend's cache directory:
/// `$NNGEN_CACHE`, else `$XDG_CACHE_HOME/nngen`, else `~/.cache/nngen`).
///
/// An entry is named by a hash of the source file's absolute path, size and modification time, so a
/// changed source file gets a new entry. Entries are written atomically and checked when read:
/// ```
/// offset  size   field
/// 0       8      magic "nngendc1"
/// 8       8      payload size in bytes, little-endian
/// 16      8      checksum of the payload (`checksum(_:)`), little-endian
/// 24      size   the payload: the decompressed file
/// ```
/// A missing, truncated or corrupt entry reads as absent (and is rebuilt by the caller); a cache
/// directory that cannot be written just means no cache. The cache never raises an error.
public struct DecodedCache: Sendable, Equatable {
    /// The directory holding the entries.
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The `data` folder of the cc backend's cache directory.
    public static var standard: DecodedCache {
        DecodedCache(directory: CCOptions().cacheDirectory + "/data")
    }

    static let magic = Array("nngendc1".utf8)
    static let headerSize = 24

    /// The decompressed bytes of `source` stored by `store`, mapped from the entry file; nil when there
    /// is no valid entry for the file as it is now (another size or modification time, a truncated or
    /// corrupt entry).
    public func lookup(source: String) -> ReadOnlyBytes? {
        guard let path = entryPath(source: source) else { return nil }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, Int(status.st_size) >= Self.headerSize,
            let entry = ReadOnlyBytes.mapFile(descriptor, length: Int(status.st_size)),
            entry.prefix(8).elementsEqual(Self.magic),
            Self.littleEndian(entry, at: 8) == UInt64(entry.count - Self.headerSize)
        else { return nil }
        let payload = entry.dropFirst(Self.headerSize)
        guard payload.withUnsafeBufferPointer({ Self.checksum(UnsafeRawBufferPointer($0)) }) == Self.littleEndian(entry, at: 16)
        else { return nil }
        return payload
    }

    /// Stores `payload` as the decompressed bytes of `source`. Does nothing when the cache directory
    /// cannot be created or written.
    public func store(_ payload: [UInt8], source: String) {
        guard let path = entryPath(source: source), (try? AtomicFile.createDirectory(directory)) != nil else { return }
        var entry = Self.magic
        entry.reserveCapacity(Self.headerSize + payload.count)
        Self.appendLittleEndian(UInt64(payload.count), to: &entry)
        Self.appendLittleEndian(payload.withUnsafeBytes { Self.checksum($0) }, to: &entry)
        entry.append(contentsOf: payload)
        try? AtomicFile.write(entry, to: path)
    }

    /// The entry file for `source` as it is now: `<name>-<hash of path, size, mtime>.decoded`; nil when
    /// the source cannot be examined.
    func entryPath(source: String) -> String? {
        var status = stat()
        guard stat(source, &status) == 0 else { return nil }
        let absolute = source.hasPrefix("/") ? source : FileManager.default.currentDirectoryPath + "/" + source
        var hash = ContentHash()
        hash.add("nngen decoded cache 1")
        hash.add(absolute)
        hash.add(String(status.st_size))
        hash.add("\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)")
        var name = URL(fileURLWithPath: source).lastPathComponent
        if name.hasSuffix(".gz") { name.removeLast(3) }
        return "\(directory)/\(name)-\(hash.hex).decoded"
    }

    /// A cheap 64-bit checksum (Fletcher-style over little-endian 64-bit words, then the tail bytes):
    /// ```
    /// a ← a + wᵢ,  b ← b + a        (mod 2⁶⁴, over the words wᵢ)
    /// checksum = a ⊕ rotate(b, 32) ⊕ size
    /// ```
    /// `b` weighs each word by its position, so swapped, shifted, zeroed or flipped words all change it.
    /// A few milliseconds for the 47 MB of the Fashion-MNIST training images.
    static func checksum(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var a: UInt64 = 0x6E6E_6765_6E64_6331
        var b: UInt64 = 0
        let words = raw.count / 8
        for index in 0..<words {
            a &+= UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
            b &+= a
        }
        for index in (8 * words)..<raw.count {
            a &+= UInt64(raw[index])
            b &+= a
        }
        return a ^ (b << 32 | b >> 32) ^ UInt64(raw.count)
    }

    static func littleEndian(_ bytes: ReadOnlyBytes, at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    static func appendLittleEndian(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
