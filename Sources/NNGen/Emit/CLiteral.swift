// CLiteral: numbers written as C source that reads back exactly.

enum CLiteral {
    /// A double that round-trips exactly, always with a '.' or exponent so C reads it as floating point.
    static func double(_ v: Double) -> String {
        var text = "\(v)"
        if !text.contains(".") && !text.contains("e") && !text.contains("inf") && !text.contains("nan") {
            text += ".0"
        }
        return text
    }
}

extension CLiteral {
    /// A finite double as a C hexadecimal floating literal (`0x1.8p-3`, `-0x0.0000000000001p-1022`): exact
    /// for every compiler, tcc included, with no decimal rounding involved.
    static func hex(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "(0.0/0.0)" : (v < 0 ? "(-1.0/0.0)" : "(1.0/0.0)") }
        let sign = v.sign == .minus ? "-" : ""
        if v == 0 { return sign + "0x0p+0" }
        let bits = v.bitPattern
        let fraction = bits & ((1 << 52) - 1)
        let biased = Int((bits >> 52) & 0x7ff)
        let lead = biased == 0 ? "0" : "1"
        let exponent = biased == 0 ? -1022 : biased - 1023
        var digits = String(fraction, radix: 16)
        digits = String(repeating: "0", count: 13 - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        return sign + "0x" + lead + (digits.isEmpty ? "" : "." + digits) + "p" + (exponent >= 0 ? "+" : "") + String(exponent)
    }
}
