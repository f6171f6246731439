// LabeledDataset: a labelled classification data set in memory, the input of training and evaluation — its
// samples kept as bytes (converted per batch) or as Float values.
import NNGen

/// A labelled classification data set held in memory.
///
/// Sample `i` is values `i * featureCount ..< (i + 1) * featureCount` of `storage`, with label `labels[i]`.
/// Images keep their pixels as bytes (`Storage.bytes`): a quarter of the memory of Float values, and
/// nothing to convert before the first step; each batch is converted as it is staged into the model.
public struct LabeledDataset: Sendable {
    /// How the sample values are held.
    public enum Storage: Sendable {
        /// The values themselves, `count × featureCount`, row-major.
        case floats([Float])
        /// One byte per value, `count × featureCount`, row-major; value = `Float(byte) * scale[c] + shift[c]`
        /// for the byte's channel c (`ByteMap`). (Mapped from the decoded-data cache for Fashion-MNIST: see
        /// `ReadOnlyBytes`.)
        case bytes(ReadOnlyBytes, ByteMap)

        /// The number of values held.
        public var count: Int {
            switch self {
            case .floats(let values): values.count
            case .bytes(let bytes, _): bytes.count
            }
        }
    }

    /// The sample values.
    public var storage: Storage

    /// The staged value of a black pixel (a zero byte) of the first channel, which pads augmentation crops:
    /// the map's shift for bytes, 0 for values given as floats.
    public var blackPixel: Double {
        switch storage {
        case .floats: 0
        case .bytes(_, let map): Double(map.shift[0])
        }
    }
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

    /// A data set of `labels.count` samples of shape `sampleShape` held as Float values. `classCount`
    /// defaults to 1 + max label. Call `validate` to check the sizes and labels.
    public init(samples: [Float], labels: [Int32], sampleShape: [Int], classCount: Int? = nil) {
        self.init(storage: .floats(samples), labels: labels, sampleShape: sampleShape, classCount: classCount)
    }

    /// A data set whose values are held as bytes, each standing for the value
    /// ```
    /// value = Float(byte) * scale + shift
    /// ```
    /// (`scale` 1, `shift` 0: the byte itself).
    public init(
        bytes: ReadOnlyBytes, scale: Float = 1, shift: Float = 0, labels: [Int32], sampleShape: [Int],
        classCount: Int? = nil
    ) {
        self.init(
            storage: .bytes(bytes, ByteMap(scale: [scale], shift: [shift], plane: 1)), labels: labels, sampleShape: sampleShape,
            classCount: classCount)
    }

    /// This data set with its bytes mapped by `preprocessing` (one scale and shift per channel of `channels`,
    /// each channel `featureCount / channels` consecutive values of a sample); float values are unchanged.
    public func mapped(by preprocessing: Preprocessing, channels: Int) -> LabeledDataset {
        guard case .bytes(let bytes, _) = storage else { return self }
        var copy = self
        copy.storage = .bytes(bytes, ByteMap(preprocessing, channels: channels, featureCount: featureCount))
        return copy
    }

    /// A data set of `labels.count` samples of shape `sampleShape` with values held in `storage`.
    public init(storage: Storage, labels: [Int32], sampleShape: [Int], classCount: Int? = nil) {
        self.storage = storage
        self.labels = labels
        self.sampleShape = sampleShape
        self.featureCount = sampleShape.reduce(1, *)
        self.classCount = classCount ?? (labels.max().map { Int($0) + 1 } ?? 0)
    }

    /// Value `index` of the samples (`sample * featureCount + feature`), as staged into a model.
    public func value(at index: Int) -> Float {
        switch storage {
        case .floats(let values): values[index]
        case .bytes(let bytes, let map): map.value(bytes[index], feature: index % featureCount)
        }
    }

    /// Every sample value as Float, row-major (a new array of `count × featureCount` values).
    public func floatValues() -> [Float] {
        switch storage {
        case .floats(let values):
            return values
        case .bytes(let bytes, let map):
            let features = featureCount
            return [Float](unsafeUninitializedCapacity: bytes.count) { floats, initialized in
                bytes.withUnsafeBufferPointer { bytes in
                    for index in bytes.indices { floats[index] = map.value(bytes[index], feature: index % features) }
                }
                initialized = bytes.count
            }
        }
    }

    /// Checks that the sizes agree and every label is in `0 ..< classCount`; `origin` names the data in errors.
    public func validate(origin: String) throws {
        guard sampleShape.allSatisfy({ $0 > 0 }), featureCount == sampleShape.reduce(1, *) else {
            throw Diagnostic(
                file: origin, "sample shape \(sampleShape) does not hold \(featureCount) features per sample")
        }
        guard storage.count == count * featureCount else {
            throw Diagnostic(
                file: origin,
                "\(storage.count) sample values for \(count) labels of \(featureCount) features: "
                    + "expected \(count * featureCount)")
        }
        guard classCount > 0 || count == 0 else { throw Diagnostic(file: origin, "labels given but no classes") }
        if let index = labels.firstIndex(where: { $0 < 0 || Int($0) >= classCount }) {
            throw Diagnostic(
                file: origin, "label \(labels[index]) of sample \(index) is out of range 0...\(classCount - 1)")
        }
    }
}

/// How bytes become values: `Float(byte) * scale[c] + shift[c]`, with channel `c = feature / plane` (one
/// entry for every channel when the arrays hold one value).
public struct ByteMap: Sendable, Equatable {
    public var scale: [Float]
    public var shift: [Float]
    /// Consecutive values of a sample that share a channel (H·W; 1 for per-feature maps of [N, D]).
    public var plane: Int

    public init(scale: [Float], shift: [Float], plane: Int) {
        self.scale = scale
        self.shift = shift
        self.plane = max(plane, 1)
    }

    /// The byte itself.
    public static let identity = ByteMap(scale: [1], shift: [0], plane: 1)

    /// The map of `preprocessing` for samples of `featureCount` values in `channels` channels.
    public init(_ preprocessing: Preprocessing, channels: Int, featureCount: Int) {
        let count = max(preprocessing.mean.count, preprocessing.std.count)
        self.init(
            scale: (0..<count).map { preprocessing.scale(channel: $0) }, shift: (0..<count).map { preprocessing.shift(channel: $0) },
            plane: featureCount / max(channels, 1))
    }

    /// The value of `byte` at `feature` of its sample.
    @inline(__always) public func value(_ byte: UInt8, feature: Int) -> Float {
        let c = scale.count == 1 ? 0 : (feature / plane) % scale.count
        return Float(byte) * scale[c] + shift[c]
    }
}
