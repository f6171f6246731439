// Preprocessing: how raw samples (bytes, e.g. pixels) become the model's inputs — the spec's `normalize`
// statement — so that training, evaluation, prediction and the generated C all apply the same map.

/// `normalize mean=M std=S [max=255]`: a raw byte b of channel c becomes `(b / max − mean[c]) / std[c]`.
/// `mean` and `std` hold one value for every channel, or one per channel (`[N, C, H, W]`: C values;
/// `[N, D]`: D values). Float inputs are taken as already preprocessed.
///
/// Computed in float as `Float(b)·scale[c] + shift[c]`, `scale = 1/(max·std)`, `shift = −mean/std` (each
/// rounded to float as written), by the trainer's staging and by the generated `<model>_preprocess` alike.
public struct Preprocessing: Sendable, Hashable {
    public var mean: [Double]
    public var std: [Double]
    /// Raw bytes are divided by this first (255: pixels to [0, 1], as torchvision's ToTensor).
    public var max: Double

    public init(mean: [Double], std: [Double], max: Double = 255) {
        self.mean = mean
        self.std = std
        self.max = max
    }

    /// What a spec without a `normalize` statement gets for byte samples: b / 255.
    public static let bytesToUnitRange = Preprocessing(mean: [0], std: [1], max: 255)

    /// The multiplier of channel `c`: 1/(max·std[c]), in float.
    public func scale(channel c: Int) -> Float { 1 / (Float(max) * Float(std[std.count == 1 ? 0 : c])) }
    /// The offset of channel `c`: −mean[c]/std[c], in float.
    public func shift(channel c: Int) -> Float { -Float(mean[mean.count == 1 ? 0 : c]) / Float(std[std.count == 1 ? 0 : c]) }

    /// The statement as a spec writes it: `normalize mean=0.286 std=0.353 max=255`.
    public var specText: String {
        func list(_ values: [Double]) -> String { values.map { Attributes.format($0) }.joined(separator: ",") }
        return "normalize mean=\(list(mean)) std=\(list(std)) max=\(Attributes.format(max))"
    }
}
