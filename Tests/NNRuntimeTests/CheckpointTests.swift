// Checkpoints: what they hold, that they restore every bit, and that a checkpoint of another spec is
// refused with a clear message.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct CheckpointTests {
    /// Trains `spec` for one epoch and writes a checkpoint; returns its path (in `directory`).
    func trainedCheckpoint(_ spec: String = Toy.spec(), in directory: String) throws -> (path: String, model: CompiledModel) {
        let path = directory + "/ck.safetensors"
        let model = try Toy.model(spec)
        try Trainer(
            model: model, trainingSet: Toy.trainingSet, testSet: Toy.testSet,
            options: TrainingOptions(epochs: 3, seed: 21, checkpointPath: path, stopAfterEpoch: 1)
        ).run()
        return (path, model)
    }

    @Test func holdsParametersBuffersOptimizerStateAndTrainingState() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, model) = try trainedCheckpoint(in: directory)
        let (tensors, metadata) = try Safetensors.read(path: path)
        let names = Set(tensors.map(\.name))
        for name in [
            "fc1.weight", "fc1.bias", "bn1.gamma", "bn1.beta", "bn1.running_mean", "bn1.running_var", "fc2.weight", "fc2.bias",
            "optimizer.0.fc1.weight", "optimizer.0.bn1.gamma", "optimizer.0.fc2.bias",
        ] {
            #expect(names.contains(name), "missing \(name)")
        }
        #expect(tensors.count == 6 + 2 + 6, "6 parameters, 2 buffers, 6 momentum tensors")
        #expect(metadata["format"] == "nngen-checkpoint-1")
        #expect(metadata["model"] == "toy" && metadata["dtype"] == "float64" && metadata["input"] == "[8, 6]")
        #expect(metadata["optimizer"] == "sgd")
        #expect(metadata["epoch"] == "1" && metadata["step"] == "30" && metadata["epochs"] == "3")
        #expect(metadata["seed"] == "21" && metadata["rng_seed"] == "21")
        let momentum = try #require(tensors.first { $0.name == "optimizer.0.fc1.weight" }).tensor.doubles()
        #expect(momentum.contains { $0 != 0 }, "momentum state is saved, not zeros")
        let history = try TrainingHistory.decode(try #require(metadata["history"]), origin: path)
        #expect(history.epochs.count == 1 && history.epochs[0].step == 30)
        #expect(model.step == 30)
    }

    @Test func restoresEveryBit() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for dtype in ["float32", "float64"] {
            let (path, trained) = try trainedCheckpoint(Toy.spec(dtype: dtype), in: directory)
            let restored = try Toy.model(Toy.spec(dtype: dtype))
            restored.initialize(seed: 1234)
            let state = try restored.restoreCheckpoint(from: path)
            #expect(Toy.snapshot(restored) == Toy.snapshot(trained))
            #expect(restored.step == 30 && restored.rngSeed == 21)
            #expect(state.epoch == 1 && state.seed == 21 && state.plannedEpochs == 3)

            // Evaluation and prediction load parameters and buffers only.
            let evaluated = try Toy.model(Toy.spec(dtype: dtype))
            try evaluated.loadParameters(from: path)
            #expect(evaluated.evaluate(Toy.testSet) == trained.evaluate(Toy.testSet))
        }
    }

    @Test func isWrittenAtomically() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try trainedCheckpoint(in: directory)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files == ["ck.safetensors"], "no temporary file is left behind: \(files)")
        let error = try #require(
            thrownDiagnostic {
                try Toy.model().writeCheckpoint(
                    to: directory + "/missing/ck.safetensors",
                    state: TrainingState(epoch: 0, step: 0, seed: 0, rngSeed: 0, plannedEpochs: 1, history: TrainingHistory()))
            })
        #expect(error.message.contains("does not exist"))
    }

    /// A spec that differs from the one a checkpoint was trained with, and the message it must get.
    struct OtherSpec: CustomTestStringConvertible, Sendable {
        var name: String
        var spec: String
        var message: String
        var testDescription: String { name }
    }

    /// A checkpoint of another spec: each mismatch names what differs.
    @Test(arguments: [
        OtherSpec(
            name: "model name", spec: Toy.spec(name: "other"),
            message: "the checkpoint is of model 'toy', the spec toy.spec defines model 'other'"),
        OtherSpec(
            name: "batch", spec: Toy.spec(batch: 16),
            message:
                "the checkpoint was trained with dtype float64, input [8, 6], optimizer sgd; the spec toy.spec has dtype float64, input [16, 6], optimizer sgd"
        ),
        OtherSpec(name: "dtype", spec: Toy.spec(dtype: "float32"), message: "trained with dtype float64"),
        OtherSpec(
            name: "optimizer", spec: Toy.spec(optimizer: "adam lr=0.01"),
            message: "optimizer sgd; the spec toy.spec has dtype float64, input [8, 6], optimizer adam"),
        OtherSpec(
            name: "no momentum", spec: Toy.spec(optimizer: "sgd lr=0.1"),
            message: "optimizer state 'optimizer.0.fc1.weight' does not belong to model 'toy'"),
        OtherSpec(
            name: "layer width", spec: Toy.spec(hidden: 12), message: "tensor 'fc1.weight' has shape [6, 16]; model 'toy' needs [6, 12]"),
        OtherSpec(name: "layer removed", spec: Toy.spec(batchnorm: false), message: "tensor 'bn1.gamma' is not in model 'toy'"),
    ])
    func refusesACheckpointOfAnotherSpec(_ other: OtherSpec) throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, _) = try trainedCheckpoint(in: directory)
        let graph: ShapedGraph
        do {
            graph = try Toy.graph(other.spec)
        } catch {
            return  // adam not in this build yet: nothing to check
        }
        let trainer = try Trainer(
            model: try CompiledModel(graph: graph, backend: .tcc), trainingSet: Toy.dataset(count: 240, seed: 1),
            testSet: nil, options: TrainingOptions(epochs: 3))
        let error = try #require(thrownDiagnostic { try trainer.resume(from: path) })
        #expect(error.message.contains(other.message), "\(error.message)")
        #expect(error.location?.file == path)
    }

    @Test func refusesAParameterFileAndAFinishedRun() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let parameters = directory + "/init.safetensors"
        let model = try Toy.model()
        model.initialize(seed: 0)
        try Safetensors.write(model.exportTensors(), metadata: ["model": "toy"], to: parameters)
        let trainer = try Trainer(model: model, trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 2))
        let notCheckpoint = try #require(thrownDiagnostic { try trainer.resume(from: parameters) })
        #expect(notCheckpoint.message.contains("not a training checkpoint"))

        let (path, _) = try trainedCheckpoint(in: directory)
        let finished = try Trainer(model: try Toy.model(), trainingSet: Toy.trainingSet, testSet: nil, options: TrainingOptions(epochs: 1))
        let error = try #require(thrownDiagnostic { try finished.resume(from: path) })
        #expect(error.message.contains("has finished 1 epoch(s); --epochs 1 asks for no more"))
        #expect(error.hint?.contains("--epochs 2 or more") == true)

        let otherData = try Trainer(
            model: try Toy.model(), trainingSet: Toy.dataset(count: 400, seed: 1), testSet: nil, options: TrainingOptions(epochs: 2))
        #expect(thrownDiagnostic { try otherData.resume(from: path) }?.message.contains("50 steps per epoch") == true)

        let missing = try #require(thrownDiagnostic { try finished.resume(from: directory + "/nope.safetensors") })
        #expect(missing.message.contains("cannot open"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: directory + "/bad.safetensors"))
        #expect(thrownDiagnostic { try finished.resume(from: directory + "/bad.safetensors") } != nil)
    }
}
