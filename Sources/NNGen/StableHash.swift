// StableHash: a 64-bit hash of a string that never changes across runs, platforms or Swift versions.

/// FNV-1a over the UTF-8 bytes of `text` (Fowler, Noll & Vo): `h = (h ⊕ byte) · 0x100000001B3` per byte,
/// starting from 0xCBF29CE484222325. Seeds per-tensor initialization streams and dropout salts.
public func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
