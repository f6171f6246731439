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
