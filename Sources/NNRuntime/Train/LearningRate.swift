// LearningRate: the learning rate of each training step under the spec's `schedule`.

import Foundation
import NNGen

extension Schedule {
    /// The learning rate of one training step.
    ///
    /// `step` counts the steps taken before this one over the whole run (0 for the first step), `epoch`
    /// is the 0-based epoch the step belongs to, and `totalSteps` is the number of steps the run plans
    /// (epochs × steps per epoch). With base rate `lr`:
    /// ```
    /// constant:                lr
    /// cosine:                  lr · ½ (1 + cos(π · step / totalSteps))     (step clamped to totalSteps)
    /// step every=E gamma=G:    lr · G^⌊epoch / E⌋
    /// ```
    /// The cosine rate starts at `lr` and decays toward 0 at the end of the run; the step rate is
    /// multiplied by G after every E epochs.
    public func learningRate(base lr: Double, step: Int, epoch: Int, totalSteps: Int) -> Double {
        switch self {
        case .constant:
            return lr
        case .cosine:
            guard totalSteps > 0 else { return lr }
            let progress = Double(min(max(step, 0), totalSteps)) / Double(totalSteps)
            return lr * 0.5 * (1 + cos(Double.pi * progress))
        case .step(let every, let gamma):
            return lr * pow(gamma, Double(max(epoch, 0) / max(every, 1)))
        }
    }
}
