// nngen train: train a model on Fashion-MNIST or .npy data, with progress, metrics, curves and checkpoints.

import ArgumentParser
import Foundation
import NNGen
import NNGenReports
import NNRuntime

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model: progress, per-epoch test accuracy, metrics, a loss curve and checkpoints.",
        discussion: """
            Data: Fashion-MNIST (apt-get install dataset-fashion-mnist) unless --data/--labels give .npy \
            files. Each epoch takes floor(N / batch) steps of the spec's batch size over a seeded shuffle; \
            the last N mod batch samples of each shuffled order are left out of that epoch. The test set is \
            evaluated in full after every epoch.
            """)

    @Argument(help: "The model spec.") var spec: String
    @Option(help: "Epochs of the whole run (with --resume: counting the epochs already in the checkpoint).") var epochs = 5
    @Option(help: "Random seed: parameter initialization and the shuffled order of every epoch.") var seed: UInt64 = 0
    @Option(help: "Write a checkpoint (.safetensors) here after every epoch.") var save: String?
    @Option(help: "Continue the run saved in this checkpoint.") var resume: String?
    @Option(
        help:
            "Start from these parameters (nngen init, nngen import, import-weights, or a checkpoint's) instead of a fresh initialization: fine-tuning."
    )
    var params: String?
    @Flag(help: "With --resume: continue even when the spec differs from the one the checkpoint was trained with.")
    var allowSpecChange = false
    @Option(help: "Stop after this epoch, as if interrupted: the schedule still spans --epochs, so --resume continues exactly.")
    var stopAfter: Int?
    @Option(help: "How to compile the generated C.") var backend: Backend = .tiered
    @Option(help: "Threads of the optimized kernels (default 0: every core; tcc always runs on one).") var threads: Int = 0
    @OptionGroup var data: DataOptions
    @Option(help: "Random crop of every training image after padding it by this many pixels (torchvision's RandomCrop padding).")
    var crop: Int = 0
    @Flag(help: "Flip every training image horizontally with probability 1/2 (torchvision's RandomHorizontalFlip).")
    var flip = false
    @Option(help: "Append one line per epoch to this .csv or .jsonl file.") var metrics: String?
    @Option(help: "Write the loss and accuracy curves to this .svg file after every epoch.") var plot: String?

    func run() throws {
        try reportingErrors {
            let wallStart = Date()
            var options = TrainingOptions(
                epochs: epochs, seed: seed, checkpointPath: save, stopAfterEpoch: stopAfter,
                augmentation: Augmentation(cropPadding: crop, horizontalFlip: flip))
            options.allowSpecChange = allowSpecChange
            try options.validate()
            let graph = try loadGraph(spec)
            try options.augmentation.check(for: graph)
            for path in [save, plot, metrics].compactMap({ $0 }) { try AtomicFile.requireWritable(path) }
            let metricsLog = try metrics.map { try MetricsLog(path: $0) }
            if let plot, !plot.lowercased().hasSuffix(".svg") {
                throw Diagnostic(file: plot, "the plot is written as SVG", hint: "name the file .svg")
            }
            let (trainingSource, testSource) = try data.sources()
            let console = ConsoleProgress()
            console.line("loading \(trainingSource)" + (testSource.map { " and \($0)" } ?? ""))
            // The training set loads on a background thread while the model compiles. The test set loads
            // in the background once training has started (it is needed at the end of epoch 1); its files
            // are checked now, so a missing one is reported before any training.
            let pendingTrainingSet = PendingDataset(trainingSource.description) { try trainingSource.load(for: graph) }
            pendingTrainingSet.start()
            try testSource?.requireFiles()
            let testSet = testSource.map { source in PendingDataset(source.description) { try source.load(for: graph) } }

            guard threads >= 0 else { throw Diagnostic("--threads must be 0 (every core) or more, got \(threads)") }
            let model = try CompiledModel(graph: graph, backend: backend)
            let trainingSet = try pendingTrainingSet.wait()
            model.threads = threads
            model.onBackendEvent = { console.line("backend: \($0)") }
            console.line(
                "model \(graph.modelName): \(graph.parameterCount) parameters, input \(graph.inputShape), "
                    + (graph.optimizer.map { "\($0.definition.keyword) lr=\($0.instance.learningRate)" } ?? "no optimizer")
                    + ", schedule \(graph.schedule.specText); backend \(model.backend.rawValue)"
                    + (backend == .tiered && model.isCompilingInBackground ? " (cc compiling in the background)" : "")
                    + String(format: ", compiled in %.3f s", model.compileSeconds))

            let trainer = try Trainer(model: model, trainingSet: trainingSet, pendingTestSet: testSet, options: options)
            trainer.onEvent = { event in
                console.handle(event)
                guard case .epochFinished(let record) = event else { return }
                try metricsLog?.append(record)
                if let plot {
                    try AtomicFile.write(LossCurve.svg(trainer.state.history, title: "nngen train \(graph.modelName)"), to: plot)
                }
            }
            if let params {
                guard resume == nil else { throw Diagnostic("--params and --resume both set the parameters", hint: "give one of them") }
                try model.loadParameters(from: params)
                console.line("starting from the parameters in \(params)")
            }
            if let resume {
                try trainer.resume(from: resume)
                console.line("resumed \(resume): epoch \(trainer.state.epoch), step \(trainer.state.step), seed \(trainer.state.seed)")
            }
            if let save { console.line("a checkpoint is written to \(save) after every epoch") }
            try trainer.run()

            let wall = Date().timeIntervalSince(wallStart)
            var final = "done: epoch \(trainer.state.epoch) of \(epochs)" + String(format: " in %.1f s", wall)
            if let last = trainer.state.history.epochs.last, let accuracy = last.testAccuracy {
                final += String(format: "; final test accuracy %.2f%% (loss %.4f)", 100 * accuracy, last.testLoss ?? .nan)
            }
            console.line(final)
            for path in [save, metrics, plot].compactMap({ $0 }) { console.line("wrote \(path)") }
        }
    }
}
