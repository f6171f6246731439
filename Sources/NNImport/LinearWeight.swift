// LinearWeight: PyTorch's nn.Linear keeps its weight as [out, in] (ONNX Gemm with transB=1); nngen's affine
// weight is [in, out]. Both importers convert with this one function.

enum LinearWeight {
    /// `values`, a row-major `[rows, cols]` matrix, as its row-major transpose `[cols, rows]`.
    static func transposed(_ values: [Double], rows: Int, cols: Int) -> [Double] {
        (0..<rows * cols).map { i in values[(i % rows) * cols + i / rows] }
    }
}
