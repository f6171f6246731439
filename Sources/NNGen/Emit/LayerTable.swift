// LayerTable: the per-layer summary (shapes, parameters, FLOPs) shown by `nngen check` and in generated headers.

public enum LayerTable {
    /// Rows of `name kind input output params flops`, a totals line last.
    public static func render(_ graph: ShapedGraph, linePrefix: String = "") -> String {
        var rows: [[String]] = [["layer", "kind", "input", "output", "params", "forward FLOPs"]]
        for layer in graph.layers {
            rows.append([
                layer.name, layer.kind, layer.input.description, layer.output.description,
                group(layer.parameterCount), group(layer.instance.forwardFLOPs),
            ])
        }
        let loss = graph.loss
        rows.append(["loss", loss.definition.keyword, loss.input.description, "[1]", "0", group(loss.instance.forwardFLOPs)])
        rows.append([
            "total", "", graph.inputShape.description, graph.outputShape.description,
            group(graph.parameterCount), group(graph.forwardFLOPs),
        ])
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        let numeric: Set<Int> = [4, 5]
        return rows.enumerated().map { index, row in
            let cells = row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return numeric.contains(c) ? pad + cell : cell + pad
            }
            let line = linePrefix + cells.joined(separator: "  ")
            return index == rows.count - 1
                ? linePrefix + String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n" + line : line
        }.map { $0.replacingTrailingSpaces() }.joined(separator: "\n")
    }

    /// 1234567 → "1,234,567".
    public static func group(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }
}

extension String {
    func replacingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
