// BatchStaging: copies one batch of samples and labels straight into a model's input and target
// buffers — the only data the training loop moves — and reads predictions back from its output.

import Foundation
import NNGen

extension CompiledModel {
    /// Copies the samples `rows` of `dataset` into `inputBuffer` (converted to the model's dtype) and
    /// their labels into `targetBuffer`. `rows` holds exactly one batch of sample indices; the caller
    /// has checked the data set against the model (`LabeledDataset.check(for:origin:)`). Allocates nothing.
    func stageBatch(_ dataset: LabeledDataset, rows: UnsafeBufferPointer<Int>) {
        stageSamples(dataset.storage, featureCount: dataset.featureCount, rows: rows)
        let labels = targetBuffer.assumingMemoryBound(to: Int32.self)
        dataset.labels.withUnsafeBufferPointer { source in
            for (slot, row) in rows.enumerated() { labels[slot] = source[row] }
        }
    }

    /// Copies the sample rows `rows` of `storage` (`featureCount` values each) into `inputBuffer`. Bytes
    /// become `Float(byte) * scale + shift` here, then the model's dtype. Allocates nothing.
    func stageSamples(_ storage: LabeledDataset.Storage, featureCount: Int, rows: UnsafeBufferPointer<Int>) {
        switch (storage, graph.dtype) {
        case (.floats(let values), .float32):
            values.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress else { return }
                let input = inputBuffer.assumingMemoryBound(to: Float.self)
                for (slot, row) in rows.enumerated() {
                    (input + slot * featureCount).update(from: base + row * featureCount, count: featureCount)
                }
            }
        case (.floats(let values), .float64):
            values.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress else { return }
                let input = inputBuffer.assumingMemoryBound(to: Double.self)
                for (slot, row) in rows.enumerated() {
                    let from = base + row * featureCount
                    let to = input + slot * featureCount
                    for feature in 0..<featureCount { to[feature] = Double(from[feature]) }
                }
            }
        case (.bytes(let bytes, let map), .float32):
            bytes.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress else { return }
                let input = inputBuffer.assumingMemoryBound(to: Float.self)
                for (slot, row) in rows.enumerated() {
                    Self.mapBytes(base + row * featureCount, to: input + slot * featureCount, count: featureCount, map) { $0 }
                }
            }
        case (.bytes(let bytes, let map), .float64):
            bytes.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress else { return }
                let input = inputBuffer.assumingMemoryBound(to: Double.self)
                for (slot, row) in rows.enumerated() {
                    Self.mapBytes(base + row * featureCount, to: input + slot * featureCount, count: featureCount, map) { Double($0) }
                }
            }
        }
    }

    /// `to[f] = convert(Float(from[f]) * scale[c] + shift[c])` for one sample, a channel's plane at a time.
    @inline(__always)
    static func mapBytes<T>(
        _ from: UnsafePointer<UInt8>, to: UnsafeMutablePointer<T>, count: Int, _ map: ByteMap, _ convert: (Float) -> T
    ) {
        var start = 0
        var channel = 0
        while start < count {
            let end = map.scale.count == 1 ? count : min(start + map.plane, count)
            let c = map.scale.count == 1 ? 0 : channel % map.scale.count
            let (scale, shift) = (map.scale[c], map.shift[c])
            for feature in start..<end { to[feature] = convert(Float(from[feature]) * scale + shift) }
            start = end
            channel += 1
        }
    }

    /// The class the last forward pass predicts for sample `slot` of the batch: the index of its largest
    /// output (the first one on ties).
    func predictedClass(_ slot: Int) -> Int {
        let classes = graph.outputShape.featureCount
        switch graph.dtype {
        case .float32:
            return Self.argmax(memory.assumingMemoryBound(to: Float.self) + plan.outputOffset + slot * classes, classes)
        case .float64:
            return Self.argmax(memory.assumingMemoryBound(to: Double.self) + plan.outputOffset + slot * classes, classes)
        }
    }

    static func argmax<T: BinaryFloatingPoint>(_ values: UnsafeMutablePointer<T>, _ count: Int) -> Int {
        var best = 0
        for index in 1..<max(count, 1) where values[index] > values[best] { best = index }
        return best
    }

    /// The softmax of sample `slot`'s outputs from the last forward pass, written to `probabilities`
    /// (`classes` values): p_k = exp(z_k − max z) / Σ_j exp(z_j − max z).
    func outputProbabilities(_ slot: Int, into probabilities: UnsafeMutableBufferPointer<Double>) {
        let classes = graph.outputShape.featureCount
        let logits = load(at: plan.outputOffset + slot * classes, count: classes)
        let largest = logits.max() ?? 0
        var sum = 0.0
        for k in 0..<classes {
            probabilities[k] = exp(logits[k] - largest)
            sum += probabilities[k]
        }
        for k in 0..<classes { probabilities[k] /= sum }
    }
}
