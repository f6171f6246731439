// Evaluation: test loss, accuracy and confusion matrix over every sample of a data set, and class
// probabilities for any number of samples — batches padded to the model's fixed batch size.

import Foundation
import NNGen

/// What a model scores on a data set, in test mode.
public struct Evaluation: Sendable, Equatable {
    /// Samples evaluated: all of the data set.
    public var count: Int
    /// Mean loss over the samples.
    public var loss: Double
    /// Samples whose largest output is their label.
    public var correct: Int
    /// `confusion[label][predicted]`: how often a sample of class `label` was predicted as `predicted`.
    public var confusion: [[Int]]

    /// `correct / count`.
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }

    /// The confusion matrix as text: one row per true class, one column per predicted class, then each
    /// class's recall (the diagonal over the row sum). `classNames` label the rows when given.
    public func confusionTable(classNames: [String]? = nil) -> String {
        let classes = confusion.count
        let names = (0..<classes).map { k in
            classNames.flatMap { k < $0.count ? "\(k) \($0[k])" : nil } ?? "\(k)"
        }
        let nameWidth = max(names.map(\.count).max() ?? 1, "true \\ predicted".count)
        let cellWidth = max(String(confusion.flatMap { $0 }.max() ?? 0).count, String(classes - 1).count) + 1
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + fill : fill + text
        }
        var lines = [
            pad("true \\ predicted", nameWidth, left: true) + (0..<classes).map { pad(String($0), cellWidth) }.joined() + "   recall"
        ]
        for (k, row) in confusion.enumerated() {
            let total = row.reduce(0, +)
            let recall = total > 0 ? String(format: "%6.1f%%", 100 * Double(row[k]) / Double(total)) : "      -"
            lines.append(pad(names[k], nameWidth, left: true) + row.map { pad(String($0), cellWidth) }.joined() + "  " + recall)
        }
        return lines.joined(separator: "\n")
    }
}

extension CompiledModel {
    /// Evaluates the model in test mode on every sample of `dataset` (checked with `LabeledDataset.check`).
    ///
    /// The last batch is padded to the model's batch size with copies of its first sample; only real
    /// samples count. In test mode every sample is computed on its own (batchnorm uses its running
    /// statistics, dropout is off), so padding cannot change any real sample's output. The loss of the
    /// padded batch is corrected with one more forward pass of that sample alone:
    /// ```
    /// mean₁ = (Σ_real lᵢ + p·l₀) / B     (p padding copies of sample 0)
    /// mean₂ = l₀                          (every slot holds sample 0)
    /// Σ_real lᵢ = B·mean₁ − p·mean₂
    /// ```
    public func evaluate(_ dataset: LabeledDataset) -> Evaluation {
        Evaluation(count: dataset.count, sums: evaluationSums(dataset, rows: 0..<dataset.count))
    }

    /// `evaluate` split across the ranks of a data-parallel job: each evaluates a contiguous share of the
    /// samples, and one allreduce adds up the loss sums, correct counts and confusion matrices. Every
    /// rank returns the same evaluation.
    public func evaluate(_ dataset: LabeledDataset, group: ProcessGroup) throws -> Evaluation {
        let share = { (rank: Int) in rank * dataset.count / group.size }
        var sums = evaluationSums(dataset, rows: share(group.rank)..<share(group.rank + 1))
        let packed = try group.sum([sums.loss, Double(sums.correct)] + sums.confusion.flatMap { $0.map(Double.init) })
        let classes = sums.confusion.count
        sums.loss = packed[0]
        sums.correct = Int(packed[1])
        sums.confusion = (0..<classes).map { k in (0..<classes).map { Int(packed[2 + k * classes + $0]) } }
        return Evaluation(count: dataset.count, sums: sums)
    }

    /// The loss sum, correct count and confusion matrix of the samples `rows` of `dataset`, in test mode.
    func evaluationSums(_ dataset: LabeledDataset, rows range: Range<Int>) -> (loss: Double, correct: Int, confusion: [[Int]]) {
        let batch = graph.batch
        let classes = graph.outputShape.featureCount
        var rows = [Int](repeating: 0, count: batch)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var lossSum = 0.0
        var correct = 0
        var start = range.lowerBound
        while start < range.upperBound {
            let real = min(batch, range.upperBound - start)
            for slot in 0..<batch { rows[slot] = start + (slot < real ? slot : 0) }
            rows.withUnsafeBufferPointer { stageBatch(dataset, rows: $0) }
            let mean = stagedForward(mode: .test, withTarget: true)
            for slot in 0..<real {
                let label = Int(dataset.labels[start + slot])
                let predicted = predictedClass(slot)
                confusion[label][predicted] += 1
                if predicted == label { correct += 1 }
            }
            if real == batch {
                lossSum += mean * Double(batch)
            } else {
                for slot in 0..<batch { rows[slot] = start }
                rows.withUnsafeBufferPointer { stageBatch(dataset, rows: $0) }
                let single = stagedForward(mode: .test, withTarget: true)
                lossSum += mean * Double(batch) - single * Double(batch - real)
            }
            start += real
        }
        return (lossSum, correct, confusion)
    }

    /// The class probabilities (the softmax of the network outputs, test mode) of `count` samples given
    /// row-major in `samples`, each `graph.inputShape.featureCount` values (already preprocessed), in double
    /// like every value the API takes: `count × classes` values, row-major. Any `count` works: the last batch
    /// is padded with copies of its first sample.
    public func predictProbabilities(_ samples: [Double], count: Int) throws -> [Double] {
        let features = graph.inputShape.featureCount
        guard samples.count == count * features else {
            throw Diagnostic("\(samples.count) input values for \(count) samples of \(features) values each")
        }
        let batch = graph.batch
        let classes = graph.outputShape.featureCount
        var staged = [Double](repeating: 0, count: batch * features)
        var probabilities = [Double](repeating: 0, count: count * classes)
        var start = 0
        while start < count {
            let real = min(batch, count - start)
            for slot in 0..<batch {
                let row = start + (slot < real ? slot : 0)
                staged.replaceSubrange(slot * features..<(slot + 1) * features, with: samples[row * features..<(row + 1) * features])
            }
            store(staged, to: inputBuffer, offset: 0)
            _ = stagedForward(mode: .test, withTarget: false)
            probabilities.withUnsafeMutableBufferPointer { all in
                for slot in 0..<real {
                    outputProbabilities(
                        slot, into: UnsafeMutableBufferPointer(rebasing: all[(start + slot) * classes..<(start + slot + 1) * classes]))
                }
            }
            start += real
        }
        return probabilities
    }
}

extension Evaluation {
    /// The evaluation of `count` samples from their loss sum, correct count and confusion matrix.
    init(count: Int, sums: (loss: Double, correct: Int, confusion: [[Int]])) {
        self.init(count: count, loss: count > 0 ? sums.loss / Double(count) : 0, correct: sums.correct, confusion: sums.confusion)
    }
}

extension FashionMNIST {
    /// The names of the ten classes, by label.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
}
