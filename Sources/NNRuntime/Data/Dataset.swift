// Dataset: a labelled classification data set in memory, the input of training and evaluation.
import NNGen

/// A labelled classification data set held in memory, samples as Float rows.
///
/// Sample `i` is `samples[i * featureCount ..< (i + 1) * featureCount]`, with label `labels[i]`.
public struct Dataset: Sendable {
    /// The samples, `count × featureCount`, row-major.
    public var samples: [Float]
    /// One class id per sample, in `0 ..< classCount`.
    public var labels: [Int32]
    /// The shape of one sample, e.g. `[1, 28, 28]` or `[784]`; its product is `featureCount`.
    public var sampleShape: [Int]
    /// The number of samples.
    public var count: Int { labels.count }
    /// The number of values in one sample.
    public var featureCount: Int
    /// The number of classes: one more than the largest label, unless given.
    public var classCount: Int

    /// A data set of `labels.count` samples of shape `sampleShape`. `classCount` defaults to 1 + max label.
    /// Call `validate` to check the sizes and labels.
    public init(samples: [Float], labels: [Int32], sampleShape: [Int], classCount: Int? = nil) {
        self.samples = samples
        self.labels = labels
        self.sampleShape = sampleShape
        self.featureCount = sampleShape.reduce(1, *)
        self.classCount = classCount ?? (labels.max().map { Int($0) + 1 } ?? 0)
    }

    /// Checks that the sizes agree and every label is in `0 ..< classCount`; `origin` names the data in errors.
    public func validate(origin: String) throws {
        guard sampleShape.allSatisfy({ $0 > 0 }), featureCount == sampleShape.reduce(1, *) else {
            throw Diagnostic(
                file: origin, "sample shape \(sampleShape) does not hold \(featureCount) features per sample")
        }
        guard samples.count == count * featureCount else {
            throw Diagnostic(
                file: origin,
                "\(samples.count) sample values for \(count) labels of \(featureCount) features: "
                    + "expected \(count * featureCount)")
        }
        guard classCount > 0 || count == 0 else { throw Diagnostic(file: origin, "labels given but no classes") }
        if let index = labels.firstIndex(where: { $0 < 0 || Int($0) >= classCount }) {
            throw Diagnostic(
                file: origin, "label \(labels[index]) of sample \(index) is out of range 0...\(classCount - 1)")
        }
    }
}
