// Reference losses, each returning the scalar loss and its gradient with respect to the scores:
// softmax cross-entropy, multiclass SVM hinge, mean squared error.
import Foundation

extension Reference {
    /// Softmax cross-entropy averaged over the batch; logits [N, C], labels are class ids [N]; with label
    /// smoothing ε the target distribution is q = (1 − ε)·onehot(y) + ε/C (PyTorch's `label_smoothing`).
    ///
    /// ```
    /// z[n, j]     = logits[n, j] − max_k logits[n, k]            (stability; does not change p)
    /// log p[n, j] = z[n, j] − log Σ_k exp(z[n, k])
    /// loss        = −(1/N) Σ_n Σ_j q[n, j] · log p[n, j]          (ε = 0: −(1/N) Σ_n log p[n, y_n])
    /// dlogits     = (p[n, j] − q[n, j]) / N
    /// ```
    static func softmaxCrossEntropy(
        logits: RefTensor, labels: [Int], smoothing: Double = 0
    ) -> (loss: Double, dlogits: RefTensor) {
        precondition(
            logits.shape.count == 2, "softmax loss: logits must be [N, C], got \(logits.shape)")
        let (n, c) = (logits.shape[0], logits.shape[1])
        precondition(labels.count == n, "softmax loss: \(labels.count) labels for \(n) rows")
        var loss = 0.0
        var dlogits = RefTensor(zeros: logits.shape)
        for i in 0..<n {
            precondition(
                labels[i] >= 0 && labels[i] < c, "softmax loss: label \(labels[i]) not in 0..<\(c)")
            var rowMax = -Double.infinity
            for j in 0..<c {
                rowMax = max(rowMax, logits[i * c + j])
            }
            var sumExp = 0.0
            for j in 0..<c {
                sumExp += exp(logits[i * c + j] - rowMax)
            }
            let logSumExp = log(sumExp)
            for j in 0..<c {
                let q = (j == labels[i] ? 1 - smoothing : 0) + smoothing / Double(c)
                let logP = logits[i * c + j] - rowMax - logSumExp
                loss -= q * logP
                dlogits[i * c + j] = (exp(logP) - q) / Double(n)
            }
        }
        return (loss / Double(n), dlogits)
    }

    /// Multiclass SVM (hinge) loss with margin 1, averaged over the batch; scores [N, C], labels [N].
    ///
    /// ```
    /// margin[n, j] = s[n, j] − s[n, y_n] + 1
    /// loss         = (1/N) Σ_n Σ_{j ≠ y_n} max(0, margin[n, j])
    /// dscores      = (1/N) · (+1 at j, −1 at y_n) for every j ≠ y_n with margin[n, j] > 0
    /// ```
    static func svmLoss(scores: RefTensor, labels: [Int]) -> (loss: Double, dscores: RefTensor) {
        precondition(scores.shape.count == 2, "svm loss: scores must be [N, C], got \(scores.shape)")
        let (n, c) = (scores.shape[0], scores.shape[1])
        precondition(labels.count == n, "svm loss: \(labels.count) labels for \(n) rows")
        var loss = 0.0
        var dscores = RefTensor(zeros: scores.shape)
        for i in 0..<n {
            let y = labels[i]
            precondition(y >= 0 && y < c, "svm loss: label \(y) not in 0..<\(c)")
            for j in 0..<c where j != y {
                let margin = scores[i * c + j] - scores[i * c + y] + 1
                if margin > 0 {
                    loss += margin
                    dscores[i * c + j] += 1 / Double(n)
                    dscores[i * c + y] -= 1 / Double(n)
                }
            }
        }
        return (loss / Double(n), dscores)
    }

    /// Mean squared error over all N·K elements; output and target [N, K].
    ///
    /// ```
    /// loss    = (1/(N K)) Σ_{n,k} (o[n, k] − t[n, k])²
    /// doutput = 2 (o − t) / (N K)
    /// ```
    static func mseLoss(output: RefTensor, target: RefTensor) -> (loss: Double, doutput: RefTensor) {
        precondition(
            output.shape == target.shape, "mse loss: output \(output.shape) vs target \(target.shape)")
        let total = Double(output.count)
        var loss = 0.0
        var doutput = RefTensor(zeros: output.shape)
        for i in 0..<output.count {
            let diff = output[i] - target[i]
            loss += diff * diff
            doutput[i] = 2 * diff / total
        }
        return (loss / total, doutput)
    }
}
