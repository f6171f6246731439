// ReadOnlyBytes: an immutable run of bytes at a fixed address — a file mapped into memory, or a copy —
// shared by its slices; how a data set holds its pixel bytes.

import Foundation

/// Immutable bytes that stay at one address while any value sharing them lives.
///
/// A file mapped with `mapFile(_:)` costs neither a copy nor fresh memory: its pages are the page
/// cache's (the 47 MB of Fashion-MNIST training images arrive in a few milliseconds). `dropFirst(_:)`
/// shares the storage.
public struct ReadOnlyBytes: RandomAccessCollection, @unchecked Sendable {
    /// Owns the memory: unmaps or frees it when the last value using it goes away.
    final class Owner {
        let base: UnsafeMutableRawPointer?
        let length: Int
        let isMapped: Bool

        init(base: UnsafeMutableRawPointer?, length: Int, isMapped: Bool) {
            self.base = base
            self.length = length
            self.isMapped = isMapped
        }

        deinit {
            guard let base else { return }
            if isMapped { munmap(base, length) } else { base.deallocate() }
        }
    }

    private let owner: Owner
    /// The bytes.
    public let buffer: UnsafeBufferPointer<UInt8>

    /// A copy of `bytes`.
    public init(_ bytes: [UInt8]) {
        let base = bytes.isEmpty ? nil : UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { source in
            if let base, let start = source.baseAddress { base.copyMemory(from: start, byteCount: source.count) }
        }
        owner = Owner(base: base, length: bytes.count, isMapped: false)
        buffer = UnsafeBufferPointer(start: base?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
    }

    private init(owner: Owner, buffer: UnsafeBufferPointer<UInt8>) {
        self.owner = owner
        self.buffer = buffer
    }

    /// The whole file open as `descriptor`, `length` bytes long, mapped read-only (and read ahead at
    /// once); nil when it cannot be mapped.
    static func mapFile(_ descriptor: Int32, length: Int) -> ReadOnlyBytes? {
        guard length > 0 else { return ReadOnlyBytes([]) }
        let flags = MAP_PRIVATE | Int32(MAP_POPULATE)
        // mmap reports failure as MAP_FAILED, the address −1.
        guard let base = mmap(nil, length, PROT_READ, flags, descriptor, 0), base != UnsafeMutableRawPointer(bitPattern: -1)
        else { return nil }
        return ReadOnlyBytes(
            owner: Owner(base: base, length: length, isMapped: true),
            buffer: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: length))
    }

    /// These bytes without the first `count`, sharing the storage.
    public func dropFirst(_ count: Int) -> ReadOnlyBytes {
        ReadOnlyBytes(owner: owner, buffer: UnsafeBufferPointer(rebasing: buffer.dropFirst(count)))
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { buffer.count }
    public subscript(position: Int) -> UInt8 { buffer[position] }

    /// Calls `body` with the bytes (no copy; for code written against buffer pointers).
    public func withUnsafeBufferPointer<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(owner) { try body(buffer) }
    }
}
