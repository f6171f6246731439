// WindowAxis: one axis (height or width) of a sliding window — convolution or pooling — with PyTorch's
// output-size arithmetic, and the input rows or columns a rounding leaves out of every window.

/// One axis of a sliding window over an input padded by `pad` on both sides.
///
/// ```
/// out = ⌊(in + 2·pad − dilation·(k − 1) − 1) / stride⌋ + 1                      (PyTorch, ceil_mode off)
/// out = ⌈(in + 2·pad − dilation·(k − 1) − 1) / stride⌉ + 1, minus 1 when the last window would start
///       in the right padding: (out − 1)·stride ≥ in + pad                          (ceil_mode on)
/// ```
/// Window `o` covers padded positions `o·stride + j·dilation` for `j < k` (position `pad` is input row 0).
struct WindowAxis {
    var input: Int
    var kernel: Int
    var stride: Int
    var pad: Int
    var dilation: Int = 1
    var ceil: Bool = false

    /// `in + 2·pad − dilation·(k − 1) − 1`: the room the first window leaves for stepping (negative when the
    /// window is larger than the padded input).
    var span: Int { input + 2 * pad - dilation * (kernel - 1) - 1 }

    /// The output size, at least 1 when `span ≥ 0`.
    var output: Int {
        guard span >= 0 else { return 0 }
        guard ceil else { return span / stride + 1 }
        var out = (span + stride - 1) / stride + 1
        if (out - 1) * stride >= input + pad { out -= 1 }
        return out
    }

    /// Input rows (not padding) after the last window that the floor of `output` leaves out of every window.
    /// When windows are narrower than their stride (a 1×1 convolution with stride 2), every window is followed
    /// by `stride − extent` rows no window reads, by design; rows within that gap after the last window are
    /// not counted (PyTorch's ResNet shortcuts on even sizes draw no warning).
    var droppedInput: Int {
        let extent = dilation * (kernel - 1) + 1
        let covered = (output - 1) * stride + extent  // padded positions 0 ..< covered
        return max(0, input + pad - covered - max(0, stride - extent))
    }

    /// The smallest pad above this one (up to `limit`) that leaves no input row out, if any.
    func padUsingEveryRow(limit: Int) -> Int? {
        guard pad < limit else { return nil }
        return (pad + 1...limit).first { p in
            var axis = self
            axis.pad = p
            return axis.span >= 0 && axis.droppedInput == 0
        }
    }
}

extension LayerContext {
    /// The output height and width of a window of `kernel` over this layer's `[N, C, H, W]` input, as PyTorch
    /// computes them. Throws when the window does not fit; adds a warning to `warnings` for each axis whose
    /// rounding leaves input rows or columns out of every window (naming how many, and the pad that would
    /// read them — at most `padLimit`, the largest pad PyTorch allows, when there is one — or `ceil=true`
    /// for the pooling layers, which have it).
    func windowOutput(
        kernel: (Int, Int), stride: (Int, Int), pad: (Int, Int), dilation: (Int, Int) = (1, 1), ceil: Bool? = nil,
        padLimit: (Int, Int)? = nil, warnings: inout [Diagnostic]
    ) throws -> (Int, Int) {
        let (h, w) = (input[2], input[3])
        var sides: [Int] = []
        for vertical in [true, false] {
            let axis = WindowAxis(
                input: vertical ? h : w, kernel: vertical ? kernel.0 : kernel.1, stride: vertical ? stride.0 : stride.1,
                pad: vertical ? pad.0 : pad.1, dilation: vertical ? dilation.0 : dilation.1, ceil: ceil ?? false)
            let name = vertical ? "height" : "width"
            let extent = axis.dilation * (axis.kernel - 1) + 1
            let extentText = axis.dilation == 1 ? "\(extent)" : "\(axis.dilation)·(\(axis.kernel) − 1) + 1 = \(extent)"
            guard axis.span >= 0 else {
                throw error(
                    "on \(input): the \(kernel.0)x\(kernel.1) window does not fit the input \(name): "
                        + "\(axis.input) + 2·\(axis.pad) is less than its extent \(extentText)",
                    hint: axis.dilation == 1 ? "use a smaller window, or more padding" : "use a smaller window or dilation, or more padding"
                )
            }
            let dropped = axis.droppedInput
            if dropped > 0 {
                let what = vertical ? (dropped == 1 ? "row" : "rows") : (dropped == 1 ? "column" : "columns")
                let rounding = "⌊(\(axis.input) + 2·\(axis.pad) − \(extent)) / \(axis.stride)⌋ + 1 = \(axis.output)"
                var fixes: [String] = []
                let limit = padLimit.map { vertical ? $0.0 : $0.1 } ?? axis.pad + axis.stride
                if let p = axis.padUsingEveryRow(limit: limit) { fixes.append("pad=\(p)") }
                if ceil == false { fixes.append("ceil=true") }
                warnings.append(
                    warning(
                        "on \(input): output \(name) \(rounding) leaves the last \(dropped) input \(what) out of every window",
                        hint: fixes.isEmpty
                            ? "as in PyTorch, they do not affect the output"
                            : fixes.joined(separator: " or ")
                                + " would use them (as in PyTorch, they are ignored otherwise)"))
            }
            sides.append(axis.output)
        }
        return (sides[0], sides[1])
    }
}
