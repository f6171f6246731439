// The training loop: it learns, it is deterministic, it resumes exactly, it stops on a non-finite loss,
// and evaluation and prediction cover every sample.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct TrainerTests {
    /// A linearly separable problem is learned in a few epochs. (Without batchnorm: with batches of 8,
    /// batch statistics are noisy enough to keep the training loss of this tiny problem from settling.)
    @Test(arguments: ["float32", "float64"])
    func learnsALinearlySeparableProblem(dtype: String) throws {
        let model = try Toy.model(Toy.spec(dtype: dtype, batchnorm: false))
        let trainer = try Trainer(
            model: model, trainingSet: Toy.trainingSet, testSet: Toy.testSet, options: TrainingOptions(epochs: 5, seed: 3))
        let before = model.evaluate(Toy.testSet)
        let history = try trainer.run()
        #expect(history.epochs.count == 5)
        #expect(history.epochs.map(\.epoch) == [1, 2, 3, 4, 5])
        #expect(history.epochs.last?.step == 150, "30 steps per epoch")
        let losses = history.epochs.map(\.trainLoss)
        #expect(losses.last! < losses.first! / 2, "training loss falls: \(losses)")
        let test = try #require(history.epochs.last?.testAccuracy)
        #expect(test > 0.9, "test accuracy \(test), was \(before.accuracy) before training")
        #expect(history.epochs.last!.testLoss! < before.loss)
        #expect(history.losses.count == 5 * 30, "a loss point per step when an epoch has fewer than 20 steps")
    }

    @Test func sameSeedGivesBitIdenticalWeights() throws {
        func train(seed: UInt64, dtype: String) throws -> [String: HostTensor] {
            let model = try Toy.model(Toy.spec(dtype: dtype))
            try Trainer(model: model, trainingSet: Toy.trainingSet, testSet: Toy.testSet, options: TrainingOptions(epochs: 2, seed: seed))
                .run()
            return Toy.snapshot(model)
        }
        for dtype in ["float32", "float64"] {
            let first = try train(seed: 7, dtype: dtype)
            #expect(first == (try train(seed: 7, dtype: dtype)), "\(dtype): same seed, same backend → same bits")
            #expect(first != (try train(seed: 8, dtype: dtype)), "\(dtype): another seed gives other weights")
        }
    }

    /// Two epochs in one run, or one epoch then a resume for the second, give the same bits — with a
    /// constant schedule (the first run asked for 1 epoch) and a cosine one (the first run was stopped).
    @Test(arguments: [("float32", "constant"), ("float64", "cosine"), ("float32", "step every=1 gamma=0.5")])
    func resumeContinuesExactly(dtype: String, schedule: String) throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spec = Toy.spec(dtype: dtype, schedule: schedule)

        let straight = try Toy.model(spec)
        let straightHistory = try Trainer(
            model: straight, trainingSet: Toy.trainingSet, testSet: Toy.testSet,
            options: TrainingOptions(epochs: 2, seed: 5)
        ).run()

        let checkpoint = directory + "/ck.safetensors"
        let first = try Toy.model(spec)
        let firstOptions =
            schedule == "constant"
            ? TrainingOptions(epochs: 1, seed: 5, checkpointPath: checkpoint)
            : TrainingOptions(epochs: 2, seed: 5, checkpointPath: checkpoint, stopAfterEpoch: 1)
        try Trainer(model: first, trainingSet: Toy.trainingSet, testSet: Toy.testSet, options: firstOptions).run()

        let resumed = try Toy.model(spec)
        let trainer = try Trainer(
            model: resumed, trainingSet: Toy.trainingSet, testSet: Toy.testSet,
            options: TrainingOptions(epochs: 2, seed: 999))  // the checkpoint's seed wins
        try trainer.resume(from: checkpoint)
        #expect(trainer.state.epoch == 1 && resumed.step == 30)
        let resumedHistory = try trainer.run()

        #expect(Toy.snapshot(resumed) == Toy.snapshot(straight), "\(dtype) \(schedule): weights differ after resume")
        #expect(resumedHistory.epochs.map(\.trainLoss) == straightHistory.epochs.map(\.trainLoss))
        #expect(resumedHistory.epochs.map(\.testLoss) == straightHistory.epochs.map(\.testLoss))
        #expect(resumedHistory.losses == straightHistory.losses)
        #expect(resumed.step == 60)
    }

    @Test func nonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpoint = directory + "/ck.safetensors"
        let good = Toy.spec(dtype: "float32", batchnorm: false)
        try Trainer(
            model: try Toy.model(good), trainingSet: Toy.trainingSet, testSet: nil,
            options: TrainingOptions(epochs: 1, checkpointPath: checkpoint)
        ).run()
        let saved = try Data(contentsOf: URL(fileURLWithPath: checkpoint))

        // The same network with an absurd learning rate: the updates blow up within the epoch.
        let diverging = Toy.spec(dtype: "float32", batchnorm: false, optimizer: "sgd lr=1000000 momentum=0.9")
        var options = TrainingOptions(epochs: 3, checkpointPath: checkpoint)
        options.allowSpecChange = true  // (another lr: the resume is told to accept it)
        let trainer = try Trainer(
            model: try Toy.model(diverging), trainingSet: Toy.trainingSet, testSet: nil, options: options)
        try trainer.resume(from: checkpoint)
        let error = try #require(thrownDiagnostic { try trainer.run() })
        #expect(error.message.contains("training stopped: the loss is"))
        #expect(error.message.contains("at step "))
        #expect(error.message.contains("(epoch 2, batch "))
        #expect(error.message.contains("the last good checkpoint, \(checkpoint) (epoch 1, step 30), was kept"))
        #expect(error.hint?.contains("lr=1000000") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == saved, "the checkpoint must not change")

        // Without a checkpoint the message says so.
        let fresh = try Trainer(
            model: try Toy.model(diverging), trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 2))
        let second = try #require(thrownDiagnostic { try fresh.run() })
        #expect(second.message.contains("(epoch 1, batch "))
        #expect(second.message.contains("no checkpoint was written (use --save"))
    }

    /// An error of the event handler (e.g. the metrics file cannot be written) stops the run after the
    /// epoch's checkpoint is written.
    @Test func anEventHandlerErrorStopsTheRun() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpoint = directory + "/ck.safetensors"
        let trainer = try Trainer(
            model: try Toy.model(), trainingSet: Toy.trainingSet, testSet: nil,
            options: TrainingOptions(epochs: 3, checkpointPath: checkpoint))
        trainer.onEvent = { event in
            if case .epochFinished = event { throw Diagnostic("metrics.csv: disk full") }
        }
        #expect(thrownDiagnostic { try trainer.run() }?.message == "metrics.csv: disk full")
        #expect(trainer.state.epoch == 1 && trainer.model.step == 30)
        #expect(try Safetensors.read(path: checkpoint).metadata["epoch"] == "1")
    }

    @Test func resumingACosineRunForMoreEpochsSaysTheScheduleChanged() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpoint = directory + "/ck.safetensors"
        let spec = Toy.spec(schedule: "cosine")
        try Trainer(
            model: try Toy.model(spec), trainingSet: Toy.trainingSet, testSet: nil,
            options: TrainingOptions(epochs: 1, checkpointPath: checkpoint)
        ).run()
        let trainer = try Trainer(
            model: try Toy.model(spec), trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 2))
        var notes: [String] = []
        trainer.onEvent = { if case .note(let text) = $0 { notes.append(text) } }
        try trainer.resume(from: checkpoint)
        #expect(
            notes == [
                "the run was planned for 1 epoch; the cosine schedule now spans 2, so the learning rates differ from the original plan"
            ])
        #expect(trainer.state.plannedEpochs == 2)
    }

    @Test func shuffleIsASeededPermutationThatChangesEachEpoch() {
        var a = [Int](repeating: 0, count: 1000)
        var b = a
        var c = a
        Trainer.shuffle(&a, seed: 1, epoch: 0)
        Trainer.shuffle(&b, seed: 1, epoch: 0)
        Trainer.shuffle(&c, seed: 1, epoch: 1)
        #expect(a == b)
        #expect(a.sorted() == Array(0..<1000))
        #expect(a != c && c.sorted() == Array(0..<1000))
        #expect(a != Array(0..<1000))
        var d = a
        Trainer.shuffle(&d, seed: 2, epoch: 0)
        #expect(d != a)
    }

    /// A test set loading in the background starts after the first step and gives the same run as one
    /// loaded up front; the first step is announced once, before the second.
    @Test func aPendingTestSetGivesTheSameRun() throws {
        let loaded = try Trainer(
            model: try Toy.model(), trainingSet: Toy.trainingSet, testSet: Toy.testSet,
            options: TrainingOptions(epochs: 2, seed: 6)
        ).run()
        let pending = PendingDataset("toy test set") { Toy.testSet }
        let trainer = try Trainer(
            model: try Toy.model(), trainingSet: Toy.trainingSet, pendingTestSet: pending,
            options: TrainingOptions(epochs: 2, seed: 6))
        var events: [String] = []
        var plan: TrainingPlan?
        trainer.onEvent = { event in
            switch event {
            case .started(let p): plan = p
            case .firstStepFinished(let seconds):
                events.append("first")
                #expect(seconds.map { $0 > 0 } ?? true)
            case .step(let progress) where progress.step <= 2:
                events.append("step \(progress.step) \(pending.isLoaded ? "" : "not ")loading")
            default: break
            }
        }
        let history = try trainer.run()
        func metrics(_ history: TrainingHistory) -> [Double?] {
            history.epochs.flatMap { [$0.trainLoss, $0.trainAccuracy, $0.testLoss, $0.testAccuracy] } + history.losses.map(\.loss)
        }
        #expect(metrics(history) == metrics(loaded))
        #expect(plan?.testSamples == nil && plan?.testSetLoading == true)
        #expect(events.prefix(2) == ["first", "step 1 not loading"] || events.prefix(2) == ["first", "step 1 loading"])
        #expect(events.filter { $0 == "first" }.count == 1)
    }

    /// A test set that fails to load stops the run at the end of the first epoch with its error.
    @Test func aPendingTestSetErrorStopsTheRun() throws {
        let pending = PendingDataset("broken") { throw Diagnostic(file: "t.npy", "not a .npy file") }
        let trainer = try Trainer(
            model: try Toy.model(), trainingSet: Toy.trainingSet, pendingTestSet: pending, options: TrainingOptions(epochs: 2))
        var steps = 0
        trainer.onEvent = { if case .step = $0 { steps += 1 } }
        let error = try #require(thrownDiagnostic { try trainer.run() })
        #expect(error.description == "t.npy: error: not a .npy file")
        #expect(steps == trainer.stepsPerEpoch && trainer.state.epoch == 0)

        // A test set that does not fit the model is named by its description.
        let wrong = PendingDataset("the wrong test set") { LabeledDataset(samples: [0, 0], labels: [0], sampleShape: [2]) }
        let mismatch = try Trainer(
            model: try Toy.model(), trainingSet: Toy.trainingSet, pendingTestSet: wrong, options: TrainingOptions(epochs: 1))
        #expect(thrownDiagnostic { try mismatch.run() }?.location?.file == "the wrong test set")
    }

    @Test func eachEpochDropsOnlyThePartialBatch() throws {
        // 245 samples, batch 8: 30 steps, 5 samples left out per epoch.
        let data = Toy.dataset(count: 245, seed: 4)
        let trainer = try Trainer(model: try Toy.model(), trainingSet: data, testSet: nil, options: TrainingOptions(epochs: 1))
        var plan: TrainingPlan?
        trainer.onEvent = { if case .started(let p) = $0 { plan = p } }
        try trainer.run()
        #expect(trainer.stepsPerEpoch == 30)
        #expect(plan?.droppedPerEpoch == 5)
        #expect(trainer.model.step == 30)
    }

    /// Evaluation covers every sample (61 = 7 batches of 8 + 5) and matches a sample-by-sample reference.
    @Test(arguments: ["float32", "float64"])
    func evaluationCoversEverySampleOfAPaddedBatch(dtype: String) throws {
        let model = try Toy.model(Toy.spec(dtype: dtype))
        try Trainer(model: model, trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 1, seed: 11)).run()
        let evaluation = model.evaluate(Toy.testSet)
        #expect(evaluation.count == 61)
        #expect(evaluation.confusion.flatMap { $0 }.reduce(0, +) == 61)
        #expect(evaluation.confusion.indices.map { evaluation.confusion[$0][$0] }.reduce(0, +) == evaluation.correct)

        // Reference: each sample alone (the batch filled with copies of it), in test mode.
        var lossSum = 0.0
        var correct = 0
        let values = Toy.testSet.floatValues()
        for index in 0..<Toy.testSet.count {
            let row = values[index * Toy.features..<(index + 1) * Toy.features].map(Double.init)
            let label = Toy.testSet.labels[index]
            lossSum += try model.forward(
                input: Array([[Double]](repeating: row, count: 8).joined()),
                target: .classes([Int32](repeating: label, count: 8)), mode: .test)
            let output = Array(model.output.prefix(Toy.classes))
            if output.indices.max(by: { output[$0] < output[$1] }) == Int(label) { correct += 1 }
        }
        #expect(evaluation.correct == correct)
        #expect(abs(evaluation.loss - lossSum / 61) < (dtype == "float64" ? 1e-12 : 1e-5))
    }

    @Test func predictionGivesProbabilitiesForAnyNumberOfSamples() throws {
        let model = try Toy.model()
        try Trainer(model: model, trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 2)).run()
        let count = 13
        let samples = Toy.testSet.floatValues().prefix(count * Toy.features).map(Double.init)
        let probabilities = try model.predictProbabilities(samples, count: count)
        #expect(probabilities.count == count * Toy.classes)
        for row in 0..<count {
            let p = probabilities[row * Toy.classes..<(row + 1) * Toy.classes]
            #expect(abs(p.reduce(0, +) - 1) < 1e-12)
            #expect(p.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        // The first batch through the plain API: the same softmax of the same outputs.
        try model.forward(input: Array(samples.prefix(8 * Toy.features)), mode: .test)
        let logits = model.output
        for row in 0..<8 {
            let z = logits[row * Toy.classes..<(row + 1) * Toy.classes]
            let largest = z.max()!
            let sum = z.reduce(0) { $0 + exp($1 - largest) }
            for k in 0..<Toy.classes {
                #expect(abs(probabilities[row * Toy.classes + k] - exp(z[z.startIndex + k] - largest) / sum) < 1e-12)
            }
        }
        #expect(thrownDiagnostic { _ = try model.predictProbabilities(samples, count: count + 1) } != nil)
    }

    @Test func aTrainingSetSmallerThanOneBatchIsAnError() throws {
        let error = try #require(
            thrownDiagnostic {
                _ = try Trainer(
                    model: try Toy.model(), trainingSet: Toy.dataset(count: 5, seed: 1), testSet: nil, options: TrainingOptions(epochs: 1))
            })
        #expect(error.message.contains("5 samples, fewer than one batch of 8"))
    }

    @Test func zeroEpochsIsAnError() throws {
        let error = try #require(thrownDiagnostic { try TrainingOptions(epochs: 0).validate() })
        #expect(error.description == "error: --epochs must be at least 1, got 0; hint: e.g. --epochs 5")
        #expect(
            thrownDiagnostic {
                _ = try Trainer(model: try Toy.model(), trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: -2))
            }?.message.contains("--epochs must be at least 1") == true)
    }

    @Test func aModelWithoutOptimizerCannotBeTrained() throws {
        let spec = "model toy\ninput x [8, 6]\naffine fc1 out=3\nloss softmax\n"
        let error = try #require(
            thrownDiagnostic {
                _ = try Trainer(model: try Toy.model(spec), trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 1))
            })
        #expect(error.message.contains("has no optimizer"))
    }
}
