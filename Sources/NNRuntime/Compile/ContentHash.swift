// ContentHash: a 128-bit FNV-1a hash, the key of the compiled-library cache (no external package needed).

/// FNV-1a with a 128-bit state (Fowler, Noll & Vo): `h = (h ⊕ byte) · p` per byte, starting from the
/// published offset basis, with `p = 2⁸⁸ + 0x13B` and arithmetic mod 2¹²⁸.
///
/// Not cryptographic. The cache that uses it compares the stored source with the requested one before
/// reusing a library, so a collision costs a recompile, never wrong code.
struct ContentHash {
    private var high: UInt64 = 0x6C62_272E_07BB_0142
    private var low: UInt64 = 0x62B8_2175_6295_C58D

    /// Mixes in the UTF-8 bytes of `text`, then a 0 byte so that ("ab", "c") and ("a", "bc") differ.
    mutating func add(_ text: String) {
        for byte in text.utf8 { add(byte: byte) }
        add(byte: 0)
    }

    mutating func add(byte: UInt8) {
        low ^= UInt64(byte)
        // (high·2⁶⁴ + low) · (2⁸⁸ + 0x13B) mod 2¹²⁸ = low·0x13B + (high·0x13B + (low << 24))·2⁶⁴
        let product = low.multipliedFullWidth(by: 0x13B)
        high = product.high &+ high &* 0x13B &+ (low << 24)
        low = product.low
    }

    /// 32 lowercase hex digits.
    var hex: String {
        func digits(_ value: UInt64) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }
        return digits(high) + digits(low)
    }
}
