// Trainer: the training loop — seeded shuffle, one compiled training step per batch, evaluation and a
// checkpoint after every epoch, an exact resume, and a stop at the first non-finite loss.

import Foundation
import NNGen

/// How to train.
public struct TrainingOptions: Sendable, Equatable {
    /// Epochs of the whole run, counting those already done when resuming. The cosine schedule spans them.
    public var epochs: Int
    /// Resume even when the spec differs from the one the checkpoint records (`--allow-spec-change`).
    public var allowSpecChange = false
    /// Seeds the parameter initialization and the shuffled order of every epoch.
    public var seed: UInt64
    /// Where to write a checkpoint after every epoch (nil: no checkpoints).
    public var checkpointPath: String?
    /// Stop after this many finished epochs, as if interrupted (nil: run to `epochs`). The schedule still
    /// spans `epochs`, so a resumed run continues exactly.
    public var stopAfterEpoch: Int?
    /// Random crops and flips of the training images (seeded by `seed` and the step).
    public var augmentation: Augmentation

    public init(
        epochs: Int, seed: UInt64 = 0, checkpointPath: String? = nil, stopAfterEpoch: Int? = nil,
        augmentation: Augmentation = Augmentation()
    ) {
        self.epochs = epochs
        self.seed = seed
        self.checkpointPath = checkpointPath
        self.stopAfterEpoch = stopAfterEpoch
        self.augmentation = augmentation
    }

    /// The most epochs a run may plan: far beyond any use, small enough that every step count fits.
    public static let maxEpochs = 1_000_000

    /// Checks the values a person typed.
    public func validate() throws {
        guard epochs >= 1 else {
            throw Diagnostic("--epochs must be at least 1, got \(epochs)", hint: "e.g. --epochs 5")
        }
        guard epochs <= Self.maxEpochs else {
            throw Diagnostic("--epochs \(epochs) is more than the \(Self.maxEpochs) a run may plan", hint: "e.g. --epochs 5")
        }
        if let stop = stopAfterEpoch, stop < 1 {
            throw Diagnostic("--stop-after must be at least 1, got \(stop)", hint: "it names the epoch to stop after, e.g. --stop-after 1")
        }
    }
}

/// What a run is about to do, announced once before the first step.
public struct TrainingPlan: Sendable, Equatable {
    public var modelName: String
    /// The epoch the run starts at (0-based: 0 for a fresh run, the checkpoint's epoch when resuming).
    public var startEpoch: Int
    /// The epoch the run stops after (1-based, ≤ `epochs`).
    public var endEpoch: Int
    public var epochs: Int
    /// The spec's batch: each rank's share of a step.
    public var batch: Int
    /// Processes of a data-parallel run (1: this process alone); a step trains on `ranks · batch` samples.
    public var ranks: Int = 1
    public var stepsPerEpoch: Int
    public var trainingSamples: Int
    /// Samples left out of each epoch: the last partial batch of the shuffled order.
    public var droppedPerEpoch: Int
    /// Samples of the test set, or nil without one (or while it is still loading).
    public var testSamples: Int?
    /// True when the test set loads in the background, so its size is not known yet.
    public var testSetLoading: Bool = false
    public var seed: UInt64
}

/// Where a run is, reported after every step.
public struct StepProgress: Sendable, Equatable {
    /// 1-based.
    public var epoch: Int
    public var epochs: Int
    /// 1-based step within the epoch.
    public var stepInEpoch: Int
    public var stepsPerEpoch: Int
    /// Steps taken over the whole run.
    public var step: Int64
    /// Mean batch loss of the epoch so far.
    public var loss: Double
    /// Fraction of the epoch's samples classified correctly so far.
    public var accuracy: Double
    public var learningRate: Double
    public var samplesPerSecond: Double
    /// Seconds since the epoch started.
    public var elapsed: Double
}

/// Something a run reports as it goes.
public enum TrainingEvent: Sendable {
    case started(TrainingPlan)
    case step(StepProgress)
    /// The run's first training step is done, `secondsSinceProcessStart` after the process started
    /// (nil where the process start time cannot be read).
    case firstStepFinished(secondsSinceProcessStart: Double?)
    /// Training steps of `epoch` (1-based) are done; the test set is being evaluated.
    case evaluating(epoch: Int)
    case epochFinished(EpochRecord)
    case checkpointSaved(path: String, epoch: Int)
    /// Something a person should know (e.g. a schedule that changed on resume).
    case note(String)
}

/// Trains a model on a data set, one compiled training step per batch.
///
/// Each epoch visits the training samples in a shuffled order seeded by (seed, epoch) and takes
/// `⌊count / batch⌋` steps of the spec's batch size; the `count mod batch` samples at the end of the
/// shuffled order are left out of that epoch (a different few each epoch, since the order changes).
/// After each epoch it evaluates every test sample in test mode and writes a checkpoint. A test set that
/// is still loading (`PendingDataset`) is started after the first step and waited for at the end of
/// the first epoch, so it is not on the path to the first step.
///
/// The loop copies one batch into the model's input and target buffers (converting bytes to values),
/// calls the fused training step and reads the predictions back; it allocates nothing.
///
/// Given a `ProcessGroup` (nngen started by `mpirun -np K`) the run is data-parallel: every rank shuffles
/// the same order, a step takes K·N samples of it and rank r trains on the r-th N of them; one allreduce
/// averages the gradients, so every rank makes the same update (`stagedTrainStep(learningRate:group:)`).
/// Loss and accuracy are summed over the ranks every step, so each rank sees the global figures and
/// stops at the same step. After each epoch the ranks compare checksums of their state, average
/// batchnorm's running statistics and evaluate a share of the test set each; rank 0 alone writes the
/// checkpoint.
public final class Trainer {
    public let model: CompiledModel
    public let trainingSet: LabeledDataset
    /// The test set, loaded or loading; nil: none.
    public let testSet: PendingDataset?
    /// The test set once loaded and checked against the model.
    private var checkedTestSet: LabeledDataset?
    public let options: TrainingOptions
    /// Called on the training thread with every event; an error it throws stops the run (after the
    /// checkpoint of a finished epoch is written) and is rethrown by `run()`.
    public var onEvent: ((TrainingEvent) throws -> Void)?
    /// Where the run stands.
    public private(set) var state: TrainingState
    public let stepsPerEpoch: Int
    /// Transforms each staged training batch, when the options ask for augmentation.
    private let augmenter: Augmenter?
    /// The ranks of a data-parallel run, or nil for a single process.
    public let group: ProcessGroup?
    /// `group`'s size, or 1.
    public var ranks: Int { group?.size ?? 1 }
    /// `group`'s rank, or 0.
    public var rank: Int { group?.rank ?? 0 }

    /// A trainer for `model`, which it initializes from `options.seed` (call `resume(from:)` to continue
    /// a checkpoint instead). Both data sets must fit the model (`LabeledDataset.check(for:origin:)`).
    public convenience init(model: CompiledModel, trainingSet: LabeledDataset, testSet: LabeledDataset?, options: TrainingOptions) throws {
        if let testSet { try testSet.check(for: model.graph, origin: "the test set") }
        let pending = testSet.map { PendingDataset(loaded: $0, description: "the test set") }
        try self.init(model: model, trainingSet: trainingSet, pendingTestSet: pending, options: options)
        checkedTestSet = testSet
    }

    /// A trainer whose test set may still be loading: it is started after the first step and checked
    /// against the model when the first epoch ends (an error in it stops the run there).
    public init(
        model: CompiledModel, trainingSet: LabeledDataset, pendingTestSet testSet: PendingDataset?, options: TrainingOptions,
        group: ProcessGroup? = nil
    ) throws {
        try options.validate()
        let graph = model.graph
        guard graph.optimizer != nil else {
            throw Diagnostic(
                file: graph.file, "model '\(graph.modelName)' has no optimizer, so it cannot be trained",
                hint: "add e.g. 'optimizer sgd lr=0.05 momentum=0.9' to the spec")
        }
        try trainingSet.check(for: graph, origin: "the training set")
        try options.augmentation.check(for: graph)
        let ranks = group?.size ?? 1
        stepsPerEpoch = trainingSet.count / (graph.batch * ranks)
        guard stepsPerEpoch >= 1 else {
            if ranks > 1 {
                throw Diagnostic(
                    "the training set has \(trainingSet.count) samples, fewer than one global batch of \(ranks) ranks × \(graph.batch)",
                    hint: "run fewer ranks (mpirun -np) or lower the batch size in the spec's input line")
            }
            throw Diagnostic(
                "the training set has \(trainingSet.count) samples, fewer than one batch of \(graph.batch)",
                hint: "lower the batch size in the spec's input line, e.g. 'input \(graph.inputName) [\(max(1, trainingSet.count)), ...]'")
        }
        self.model = model
        self.trainingSet = trainingSet
        self.testSet = testSet
        self.options = options
        self.group = group
        group?.connect(model)  // batchnorm sync=true: statistics over every rank
        augmenter = options.augmentation.isIdentity ? nil : Augmenter(options.augmentation, graph: graph, seed: options.seed)
        model.initialize(seed: options.seed)
        state = TrainingState(
            epoch: 0, step: 0, seed: options.seed, rngSeed: model.rngSeed,
            plannedEpochs: options.epochs, history: TrainingHistory())
        state.ranks = ranks
    }

    /// Continues the run saved in the checkpoint at `path`: parameters, buffers, optimizer state, step
    /// count, RNG seeds and history. The run then goes on to `options.epochs` in total.
    public func resume(from path: String) throws {
        let restored = try model.restoreCheckpoint(from: path)
        guard restored.epoch < options.epochs else {
            throw Diagnostic(
                file: path, "the checkpoint has finished \(restored.epoch) epoch(s); --epochs \(options.epochs) asks for no more",
                hint:
                    "--epochs counts every epoch of the run, including those in the checkpoint: use --epochs \(restored.epoch + 1) or more")
        }
        if let recorded = restored.graphIdentity {
            let changes = Self.changes(from: recorded, to: model.graph.identityLines)
            if !changes.isEmpty {
                let list = changes.prefix(5).joined(separator: "; ") + (changes.count > 5 ? "; and \(changes.count - 5) more" : "")
                guard options.allowSpecChange else {
                    throw Diagnostic(
                        file: path, "the checkpoint was trained with another spec: \(list)",
                        hint: "resume with the spec it was trained with, or pass --allow-spec-change to continue with this one")
                }
                try onEvent?(.note("continuing with a changed spec (--allow-spec-change): \(list)"))
            }
        }
        guard restored.ranks == ranks else {
            throw Diagnostic(
                file: path,
                "the checkpoint was trained by \(restored.ranks) process\(restored.ranks == 1 ? "" : "es"); this run has \(ranks)",
                hint: restored.ranks == 1
                    ? "resume it without mpirun (or with mpirun -np 1)" : "resume it with mpirun -np \(restored.ranks)")
        }
        guard restored.step == Int64(restored.epoch * stepsPerEpoch) else {
            throw Diagnostic(
                file: path,
                "the checkpoint took \(restored.step) steps in \(restored.epoch) epoch(s), but this training set gives \(stepsPerEpoch) steps per epoch",
                hint: "resume with the training data the checkpoint was trained on")
        }
        if restored.plannedEpochs != options.epochs, model.graph.schedule == .cosine {
            try onEvent?(
                .note(
                    "the run was planned for \(restored.plannedEpochs) epoch\(restored.plannedEpochs == 1 ? "" : "s"); the cosine schedule now spans \(options.epochs), so the learning rates differ from the original plan"
                ))
        }
        state = restored
        state.plannedEpochs = options.epochs
    }

    /// What differs between two models' identity lines, as `'old' → 'new'` (or added / removed lines).
    static func changes(from old: [String], to new: [String]) -> [String] {
        var out: [String] = []
        for index in 0..<max(old.count, new.count) {
            let a = index < old.count ? old[index] : nil
            let b = index < new.count ? new[index] : nil
            switch (a, b) {
            case (let a?, let b?) where a != b: out.append("'\(a)' is now '\(b)'")
            case (let a?, nil): out.append("'\(a)' is gone")
            case (nil, let b?): out.append("'\(b)' is new")
            default: break
            }
        }
        return out
    }

    /// The learning rate of the next step of epoch `epoch` (0-based).
    func learningRate(epoch: Int) -> Double {
        model.graph.schedule.learningRate(
            base: model.graph.optimizer?.instance.learningRate ?? 0, step: Int(model.step),
            epoch: epoch, totalSteps: options.epochs * stepsPerEpoch)
    }

    /// Trains until `options.epochs` (or `options.stopAfterEpoch`) epochs are done; returns the history
    /// of the whole run. Throws a `Diagnostic` naming the step when the loss stops being finite; the
    /// checkpoint of the last finished epoch is then left as it was.
    @discardableResult
    public func run() throws -> TrainingHistory {
        let graph = model.graph
        let endEpoch = min(options.epochs, options.stopAfterEpoch ?? options.epochs)
        var order = [Int](repeating: 0, count: trainingSet.count)
        let firstStep = model.step + 1
        // (A hint for the first epochs' loss points, not a promise for all of them.)
        state.history.losses.reserveCapacity(
            state.history.losses.count + min(endEpoch - state.epoch, 64) * (TrainingHistory.pointsPerEpoch + 1))
        try onEvent?(
            .started(
                TrainingPlan(
                    modelName: graph.modelName, startEpoch: state.epoch, endEpoch: endEpoch, epochs: options.epochs,
                    batch: graph.batch, ranks: ranks, stepsPerEpoch: stepsPerEpoch, trainingSamples: trainingSet.count,
                    droppedPerEpoch: trainingSet.count - stepsPerEpoch * graph.batch * ranks,
                    testSamples: testSet.flatMap { $0.isLoaded ? try? $0.wait().count : nil },
                    testSetLoading: testSet.map { !$0.isLoaded } ?? false, seed: state.seed)))
        while state.epoch < endEpoch {
            let epoch = state.epoch
            Self.shuffle(&order, seed: state.seed, epoch: epoch)
            let started = DispatchTime.now().uptimeNanoseconds
            let trained = try trainEpoch(epoch, order: order, endEpoch: endEpoch, firstStep: firstStep, started: started)
            try finishEpoch(epoch, trained, started: started)
        }
        return state.history
    }

    /// What the training steps of one epoch add up to.
    struct EpochSums {
        var loss = 0.0
        var correct = 0
        var learningRate = 0.0
        var seconds = 0.0
    }

    /// The training steps of epoch `epoch` (0-based) over the shuffled `order`: stage a batch (and augment
    /// it), take the fused step, count the correct predictions, report progress. `firstStep` is the step
    /// number of the run's first step (after which the test set starts loading).
    func trainEpoch(_ epoch: Int, order: [Int], endEpoch: Int, firstStep: Int64, started: UInt64) throws -> EpochSums {
        let batch = model.graph.batch
        let reportEvery = max(1, stepsPerEpoch / TrainingHistory.pointsPerEpoch)
        var sums = EpochSums()
        var interval = (loss: 0.0, steps: 0)
        let samplesPerStep = batch * ranks
        for stepInEpoch in 0..<stepsPerEpoch {
            var (loss, correct) = try order.withUnsafeBufferPointer { order in
                let first = (stepInEpoch * ranks + rank) * batch
                let rows = UnsafeBufferPointer(rebasing: order[first..<first + batch])
                model.stageBatch(trainingSet, rows: rows)
                augmenter?.apply(to: model, step: model.step + 1, padValue: trainingSet.blackPixel, firstSlot: rank * batch)
                sums.learningRate = learningRate(epoch: epoch)
                let loss =
                    try group.map { try model.stagedTrainStep(learningRate: sums.learningRate, group: $0) }
                    ?? model.stagedTrainStep(learningRate: sums.learningRate)
                var correct = 0
                for slot in 0..<batch where model.predictedClass(slot) == Int(trainingSet.labels[rows[slot]]) { correct += 1 }
                return (loss, correct)
            }
            if let group {
                // The global batch's mean loss and correct count: the same on every rank.
                let global = try group.sum([loss, Double(correct)])
                (loss, correct) = (global[0] / Double(ranks), Int(global[1]))
            }
            sums.correct += correct
            guard loss.isFinite else {
                let error = nonFiniteLoss(loss, epoch: epoch, stepInEpoch: stepInEpoch)
                if group != nil { throw CollectiveError(error) }
                throw error
            }
            if model.step == firstStep {
                try onEvent?(.firstStepFinished(secondsSinceProcessStart: ProcessClock.secondsSinceStart()))
                testSet?.start()
            }
            sums.loss += loss
            interval = (interval.loss + loss, interval.steps + 1)
            let done = stepInEpoch + 1
            if done % reportEvery == 0 || done == stepsPerEpoch {
                let point = Double(epoch) + Double(done) / Double(stepsPerEpoch)
                state.history.losses.append(LossPoint(epoch: point, loss: interval.loss / Double(interval.steps)))
                interval = (0, 0)
            }
            guard let onEvent else { continue }
            let elapsed = Self.seconds(since: started)
            try onEvent(
                .step(
                    StepProgress(
                        epoch: epoch + 1, epochs: endEpoch, stepInEpoch: done, stepsPerEpoch: stepsPerEpoch,
                        step: model.step, loss: sums.loss / Double(done),
                        accuracy: Double(sums.correct) / Double(done * samplesPerStep), learningRate: sums.learningRate,
                        samplesPerSecond: Double(done * samplesPerStep) / max(elapsed, 1e-9), elapsed: elapsed)))
        }
        sums.seconds = Self.seconds(since: started)
        return sums
    }

    /// After the steps of epoch `epoch`: evaluate the test set, record the epoch, write the checkpoint.
    func finishEpoch(_ epoch: Int, _ trained: EpochSums, started: UInt64) throws {
        let samplesPerStep = model.graph.batch * ranks
        if let group {
            try model.averageBuffers(group: group)
            try model.checkSameOnEveryRank(group: group, epoch: epoch + 1)
        }
        var evaluation: Evaluation?
        if let testSet = try loadedTestSet() {
            try onEvent?(.evaluating(epoch: epoch + 1))
            evaluation = try group.map { try model.evaluate(testSet, group: $0) } ?? model.evaluate(testSet)
        }
        let record = EpochRecord(
            epoch: epoch + 1, step: model.step, learningRate: trained.learningRate,
            trainLoss: trained.loss / Double(stepsPerEpoch),
            trainAccuracy: Double(trained.correct) / Double(stepsPerEpoch * samplesPerStep),
            testLoss: evaluation?.loss, testAccuracy: evaluation?.accuracy,
            seconds: Self.seconds(since: started),
            samplesPerSecond: Double(stepsPerEpoch * samplesPerStep) / max(trained.seconds, 1e-9))
        state.epoch = epoch + 1
        state.step = model.step
        state.rngSeed = model.rngSeed
        state.history.epochs.append(record)
        if let path = options.checkpointPath, rank == 0 {
            try model.writeCheckpoint(to: path, state: state)
            try onEvent?(.checkpointSaved(path: path, epoch: state.epoch))
        }
        try onEvent?(.epochFinished(record))
    }

    /// The test set, waiting for it to load and checking it against the model the first time; nil: none.
    func loadedTestSet() throws -> LabeledDataset? {
        if let checkedTestSet { return checkedTestSet }
        guard let testSet else { return nil }
        let loaded = try testSet.wait()
        try loaded.check(for: model.graph, origin: testSet.description)
        checkedTestSet = loaded
        return loaded
    }

    /// The error for a loss that is NaN or infinite: names the step, the epoch, and the checkpoint kept.
    func nonFiniteLoss(_ loss: Double, epoch: Int, stepInEpoch: Int) -> Diagnostic {
        let place = "step \(model.step) (epoch \(epoch + 1), batch \(stepInEpoch + 1) of \(stepsPerEpoch))"
        let kept: String
        switch (options.checkpointPath, state.epoch) {
        case (let path?, let finished) where finished > 0 && FileManager.default.fileExists(atPath: path):
            kept = "the last good checkpoint, \(path) (epoch \(finished), step \(state.step)), was kept"
        case (let path?, _):
            kept = "no checkpoint was written to \(path): no epoch finished"
        case (nil, _):
            kept = "no checkpoint was written (use --save to keep one after every epoch)"
        }
        let lr = model.graph.optimizer.map { "lr=\($0.instance.learningRate)" } ?? "the learning rate"
        return Diagnostic(
            "training stopped: the loss is \(loss) at \(place); \(kept)",
            hint: "the updates diverged: lower \(lr) in the spec, or add 'schedule cosine' or weight_decay")
    }

    /// Fills `order` with a permutation of its indices, the same for the same (seed, epoch): Fisher–Yates
    /// driven by SplitMix64, each index drawn with Lemire's multiply-shift, `⌊r · (i + 1) / 2⁶⁴⌋`.
    public static func shuffle(_ order: inout [Int], seed: UInt64, epoch: Int) {
        for index in order.indices { order[index] = index }
        var rng = SplitMix64(seed: seed ^ 0x5348_5546_464C_4521 ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
        var index = order.count - 1
        while index > 0 {
            let other = Int(rng.next().multipliedFullWidth(by: UInt64(index + 1)).high)
            order.swapAt(index, other)
            index -= 1
        }
    }

    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
