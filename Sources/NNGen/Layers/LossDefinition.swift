// LossDefinition: what a loss kind is — keyword, the targets it reads, its template constants.

/// What the loss reads as targets.
public enum TargetKind: Sendable, Hashable {
    /// One class id per sample (`int32`), `[N]`.
    case classIndices
    /// A real target per output element, `[N, K]` in the model's dtype.
    case dense
}

/// What a loss derives from its statement and the network output shape.
public struct LossInstance: Sendable {
    public var saved: [SavedSpec]
    public var constants: [TemplateConstant]
    public var forwardFLOPs: Int
}

/// A loss kind: `loss softmax`.
public struct LossDefinition: Sendable {
    public var keyword: String
    public var summary: String
    public var attributes: [AttributeSpec]
    public var template: String
    public var target: TargetKind
    /// Checks the network output shape (through `LayerContext`, whose `input` is that shape).
    public var instantiate: @Sendable (LayerContext) throws -> LossInstance

    public static let all: [LossDefinition] = [.softmax, .svm, .mse]

    public static func definition(_ keyword: String) -> LossDefinition? {
        all.first { $0.keyword == keyword }
    }
}

extension LossDefinition {
    /// `loss softmax [smoothing=0]`: mean softmax cross-entropy over the batch, labels are class ids; with label
    /// smoothing ε the target distribution is (1 − ε)·onehot(y) + ε/K (PyTorch's `label_smoothing`).
    public static let softmax = LossDefinition(
        keyword: "softmax",
        summary: "mean softmax cross-entropy over the batch; targets: class ids [N]",
        attributes: [
            AttributeSpec(
                "smoothing", .real(min: 0, max: 1, openMin: false), default: .real(0),
                "label smoothing ε: targets (1 − ε)·onehot + ε/K (PyTorch's label_smoothing)")
        ],
        template: "softmax_loss",
        target: .classIndices,
        instantiate: { context in
            let shape = context.input
            guard shape.rank == 2 else {
                throw context.error(
                    "needs the network output to be [N, classes], got \(shape)",
                    hint: "end the network with an affine layer, e.g. affine out=10")
            }
            guard shape[1] >= 2 else {
                throw context.error(
                    "needs at least 2 classes, the network output is \(shape)",
                    hint: "set the last affine layer's out= to the number of classes")
            }
            return LossInstance(
                saved: [SavedSpec("prob", count: shape.count)],
                constants: [
                    TemplateConstant("N", shape[0], "batch"), TemplateConstant("K", shape[1], "classes"),
                    .real("SMOOTHING", context.attributes.double("smoothing"), "label smoothing ε in [0, 1]"),
                ],
                forwardFLOPs: 4 * shape.count)
        })
}
