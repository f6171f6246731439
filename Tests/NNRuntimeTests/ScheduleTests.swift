// Learning-rate schedules: the rate of each step under constant, cosine and step decay.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct ScheduleTests {
    @Test func constantKeepsTheBaseRate() {
        for step in [0, 1, 50, 1000] {
            #expect(Schedule.constant.learningRate(base: 0.05, step: step, epoch: step / 10, totalSteps: 100) == 0.05)
        }
    }

    @Test func cosineFallsFromTheBaseRateToZeroOverTheRun() {
        let rate = { (step: Int) in Schedule.cosine.learningRate(base: 0.1, step: step, epoch: 0, totalSteps: 100) }
        #expect(rate(0) == 0.1)
        #expect(abs(rate(50) - 0.05) < 1e-15)  // ½(1 + cos(π/2)) = ½
        #expect(abs(rate(25) - 0.1 * 0.5 * (1 + cos(Double.pi / 4))) < 1e-15)
        #expect(abs(rate(100)) < 1e-15)
        #expect(abs(rate(500)) < 1e-15, "past the end the rate stays at the end value")
        let rates = (0...100).map(rate)
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 >= $1 }, "cosine decay never rises")
    }

    @Test func stepDecayMultipliesByGammaEveryEEpochs() {
        let schedule = Schedule.step(every: 2, gamma: 0.5)
        let rates = (0..<7).map { schedule.learningRate(base: 0.08, step: $0 * 10, epoch: $0, totalSteps: 70) }
        #expect(rates == [0.08, 0.08, 0.04, 0.04, 0.02, 0.02, 0.01])
    }

    @Test func specTextReadsLikeTheSpec() throws {
        let graph = try Toy.graph(Toy.spec(schedule: "step every=3 gamma=0.1"))
        #expect(graph.schedule == .step(every: 3, gamma: 0.1))
        #expect(graph.schedule.specText == "step every=3 gamma=0.1")
        #expect(Schedule.cosine.specText == "cosine")
    }

    /// The trainer passes the scheduled rate to every step: the epoch records carry the last step's rate.
    @Test func trainerUsesTheScheduledRate() throws {
        let model = try Toy.model(Toy.spec(optimizer: "sgd lr=0.1 momentum=0.9", schedule: "step every=1 gamma=0.5"))
        let trainer = try Trainer(model: model, trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 3))
        var rates: [Double] = []
        trainer.onEvent = { event in
            if case .step(let progress) = event, progress.stepInEpoch == 1 { rates.append(progress.learningRate) }
        }
        let history = try trainer.run()
        #expect(rates == [0.1, 0.05, 0.025])
        #expect(history.epochs.map(\.learningRate) == [0.1, 0.05, 0.025])

        let cosine = try Toy.model(Toy.spec(optimizer: "sgd lr=0.1 momentum=0.9", schedule: "cosine"))
        let cosineTrainer = try Trainer(model: cosine, trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 2))
        var last = 0.0
        cosineTrainer.onEvent = { if case .step(let progress) = $0 { last = progress.learningRate } }
        try cosineTrainer.run()
        // The last of 60 steps has step index 59: lr · ½(1 + cos(π · 59/60)).
        #expect(abs(last - 0.1 * 0.5 * (1 + cos(Double.pi * 59 / 60))) < 1e-15)
    }
}
