// LayerTable: the per-layer summary (shapes, parameters, FLOPs) shown by `nngen check` and in generated headers.

public enum LayerTable {
    /// Rows of `name kind input output params flops`, a totals line last. A graph (not a chain) gets a
    /// `from` column after `kind`: what each layer reads.
    public static func render(_ graph: ShapedGraph, linePrefix: String = "") -> String {
        let graphColumn = !graph.isChain
        func row(_ cells: [String], from: String) -> [String] {
            graphColumn ? Array(cells[0..<2]) + [from] + Array(cells[2...]) : cells
        }
        var rows: [[String]] = [row(["layer", "kind", "input", "output", "params", "forward FLOPs"], from: "from")]
        for layer in graph.layers {
            rows.append(
                row(
                    [
                        layer.name, layer.kind, layer.inputs.map(\.description).joined(separator: " "), layer.output.description,
                        group(layer.parameterCount), group(layer.instance.forwardFLOPs),
                    ], from: layer.sources.map(graph.name).joined(separator: ",")))
        }
        let loss = graph.loss
        let last = graph.layers.last?.name ?? graph.inputName
        rows.append(
            row(["loss", loss.definition.keyword, loss.input.description, "[1]", "0", group(loss.instance.forwardFLOPs)], from: last))
        rows.append(
            row(
                [
                    "total", "", graph.inputShape.description, graph.outputShape.description,
                    group(graph.parameterCount), group(graph.forwardFLOPs),
                ], from: ""))
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        let numeric: Set<Int> = graphColumn ? [5, 6] : [4, 5]
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
