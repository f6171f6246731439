// TrainingHistory: what a training run measured — one record per epoch and the running training loss
// along the way — kept in checkpoints so that a resumed run plots and logs the whole run.

import Foundation
import NNGen

/// The figures of one finished epoch.
public struct EpochRecord: Sendable, Equatable, Codable {
    /// 1-based: the first epoch is 1.
    public var epoch: Int
    /// Optimizer steps taken so far in the run (the global step count after this epoch).
    public var step: Int64
    /// The learning rate of the epoch's last step.
    public var learningRate: Double
    /// Mean of the epoch's batch losses, each measured before its update (train mode).
    public var trainLoss: Double
    /// Fraction of the epoch's training samples classified correctly by the batch's forward pass.
    public var trainAccuracy: Double
    /// Mean loss over the whole test set in test mode, when there is one.
    public var testLoss: Double?
    /// Fraction of the test set classified correctly, when there is one.
    public var testAccuracy: Double?
    /// Wall time of the epoch: training and evaluation.
    public var seconds: Double
    /// Training samples per second (training steps only, evaluation excluded).
    public var samplesPerSecond: Double

    public init(
        epoch: Int, step: Int64, learningRate: Double, trainLoss: Double, trainAccuracy: Double,
        testLoss: Double?, testAccuracy: Double?, seconds: Double, samplesPerSecond: Double
    ) {
        self.epoch = epoch
        self.step = step
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
        self.samplesPerSecond = samplesPerSecond
    }
}

/// The running training loss at one point of the run, for the loss curve.
public struct LossPoint: Sendable, Equatable, Codable {
    /// Position in epochs: 1.5 is halfway through the second epoch.
    public var epoch: Double
    /// Mean batch loss since the previous point.
    public var loss: Double

    public init(epoch: Double, loss: Double) {
        self.epoch = epoch
        self.loss = loss
    }
}

/// Everything a run measured, oldest first.
public struct TrainingHistory: Sendable, Equatable, Codable {
    public var epochs: [EpochRecord] = []
    public var losses: [LossPoint] = []

    public init(epochs: [EpochRecord] = [], losses: [LossPoint] = []) {
        self.epochs = epochs
        self.losses = losses
    }

    /// Loss points per epoch: often enough for a smooth curve, few enough to keep checkpoints small.
    public static let pointsPerEpoch = 20

    /// Compact JSON, for checkpoint metadata.
    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Decodes `json()`'s output; `origin` names the file in errors.
    static func decode(_ text: String, origin: String) throws -> TrainingHistory {
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try decoder.decode(TrainingHistory.self, from: Data(text.utf8))
        } catch {
            throw Diagnostic(file: origin, "the checkpoint's training history (metadata 'history') is damaged: \(error)")
        }
    }
}
