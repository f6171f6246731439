// svm loss: multiclass hinge loss (margin 1) summed over the wrong classes, averaged over the batch.

extension LossDefinition {
    /// `loss svm`: on scores `[N, K]` with class ids `y` `[N]`,
    /// ```
    /// loss = (1/N) Σ_n Σ_{k ≠ y_n} max(0, s[n][k] − s[n][y_n] + 1)
    /// ```
    public static let svm = LossDefinition(
        keyword: "svm",
        summary: "multiclass hinge loss, margin 1, summed over wrong classes, mean over the batch; targets: class ids [N]",
        attributes: [],
        template: "svm_loss",
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
                saved: [],
                constants: [TemplateConstant("N", shape[0], "batch"), TemplateConstant("K", shape[1], "classes")],
                forwardFLOPs: 3 * shape.count)
        })
}
