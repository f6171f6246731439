// InputSanity: whether float samples given to predict look like raw pixels rather than the preprocessed
// inputs the model was trained on — the mistake that silently costs accuracy.

import NNGen

public enum InputSanity {
    /// A warning when float `values` look unpreprocessed for a spec with a `normalize` statement: whole
    /// numbers up to 255 (raw bytes), or values all in [0, 1] where the normalize maps black below zero
    /// (scaled but not normalized). nil when they look fine, or when the spec declares no preprocessing.
    public static func warning(_ values: [Double], graph: ShapedGraph) -> String? {
        guard let preprocessing = graph.preprocessing, !values.isEmpty else { return nil }
        let low = values.min() ?? 0
        let high = values.max() ?? 0
        let fix = "save the samples as uint8 to have nngen apply the spec's '\(preprocessing.specText)', or apply it first"
        if low >= 0, high > 1.5, high <= 255, values.allSatisfy({ $0 == $0.rounded() }) {
            return "the input holds whole numbers from \(Attributes.format(low)) to \(Attributes.format(high)): it looks like raw bytes, "
                + "but float samples are taken as preprocessed; \(fix)"
        }
        // Bytes scaled to [0, 1] but not normalized: a black pixel (0) maps to a negative value, so preprocessed
        // images hold negative values; these hold none.
        let blackMapsBelowZero = preprocessing.mean.indices.allSatisfy { preprocessing.shift(channel: $0) < 0 }
        if low >= 0, high <= 1, blackMapsBelowZero {
            return "the input lies in [0, 1]: it looks scaled but not normalized (the spec's normalize maps a black pixel "
                + "to \(Attributes.format(Double(preprocessing.shift(channel: 0))))); \(fix)"
        }
        return nil
    }
}
