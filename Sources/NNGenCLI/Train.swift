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

            Data-parallel over MPI: 'mpirun -np K nngen train model.spec ...' (Open MPI, e.g. apt-get install \
            openmpi-bin; add --hostfile FILE for several hosts) trains on K processes. The spec's batch is \
            each process's share: a step takes K x batch samples, one allreduce averages the gradients, and \
            every process makes the same update. Rank 0 prints and writes --save, --metrics and --plot; every \
            rank reads the data and --resume/--params files, so on several hosts they must be at the same \
            paths. --threads defaults to the cores divided by the processes on each host. A --resume needs \
            as many processes as the checkpoint was trained with. Same K and seed: the same bits every run.
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
    @Flag(
        help:
            "Opt-in contracted mode (needs --backend cc): the cc build also fuses the multiply-adds outside the GEMMs, which every build fuses (-ffp-contract=fast): deterministic for any thread count, but not the tcc build's bits."
    )
    var fma = false
    @Option(help: "Threads of the optimized kernels (default 0: every core; tcc always runs on one).") var threads: Int = 0
    @OptionGroup var data: DataOptions
    @Option(help: "Random crop of every training image after padding it by this many pixels (torchvision's RandomCrop padding).")
    var crop: Int = 0
    @Flag(help: "Flip every training image horizontally with probability 1/2 (torchvision's RandomHorizontalFlip).")
    var flip = false
    @Option(help: "Append one line per epoch to this .csv or .jsonl file.") var metrics: String?
    @Option(help: "Write the loss and accuracy curves to this .svg file after every epoch.") var plot: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let launched = ProcessGroup.launcher(environment)
        var group: ProcessGroup?
        do {
            try train(environment: environment, launched: launched, group: &group)
            group?.finish()
        } catch let error as CollectiveError {
            // Raised on every rank at the same step: rank 0 says it once, and every rank leaves normally.
            if (group?.rank ?? 0) == 0 { FileHandle.standardError.write(Data((error.diagnostic.rendered + "\n").utf8)) }
            group?.finish()
            throw ExitCode(1)
        } catch let diagnostic as Diagnostic {
            let who = launched.map { $0.size > 1 && $0.rank > 0 ? "rank \($0.rank) of \($0.size): " : "" } ?? ""
            FileHandle.standardError.write(Data((who + diagnostic.rendered + "\n").utf8))
            // An error of this rank alone: end the others now rather than leave them waiting for it.
            group?.abort(code: 1)
            throw ExitCode(1)
        } catch {
            group?.abort(code: 1)
            throw error
        }
    }

    /// The run itself; `launched` is what mpirun's environment says (nil without it), `group` is set once
    /// the job is joined so that `run()` can finish or abort it.
    func train(environment: [String: String], launched: (rank: Int, size: Int)?, group: inout ProcessGroup?) throws {
        let wallStart = Date()
        var options = TrainingOptions(
            epochs: epochs, seed: seed, checkpointPath: save, stopAfterEpoch: stopAfter,
            augmentation: Augmentation(cropPadding: crop, horizontalFlip: flip))
        options.allowSpecChange = allowSpecChange
        try options.validate()
        let leader = (launched?.rank ?? 0) == 0
        let graph = try loadGraph(spec, warnings: leader)
        try options.augmentation.check(for: graph)
        if params != nil, resume != nil {
            throw Diagnostic("--params and --resume both set the parameters", hint: "give one of them")
        }
        if let plot, !plot.lowercased().hasSuffix(".svg") {
            throw Diagnostic(file: plot, "the plot is written as SVG", hint: "name the file .svg")
        }
        guard threads >= 0 else { throw Diagnostic("--threads must be 0 (every core) or more, got \(threads)") }
        if fma && backend != .cc {
            throw Diagnostic(
                "--fma needs --backend cc, got --backend \(backend.rawValue)",
                hint: "tcc never fuses multiply-adds, so a tiered run would change its arithmetic when it switches to cc")
        }
        group = try ProcessGroup.join(environment: environment)
        // Rank 0 alone writes files and prints; the others train in silence.
        if leader { for path in [save, plot, metrics].compactMap({ $0 }) { try AtomicFile.requireWritable(path) } }
        let metricsLog = try leader ? metrics.map { try MetricsLog(path: $0) } : nil
        let plot = leader ? plot : nil
        let (trainingSource, testSource) = try data.sources()
        let console = leader ? ConsoleProgress() : ConsoleProgress(isTerminal: false, write: { _ in })
        if let group {
            console.line(
                "data-parallel: \(group.size) processes (Open MPI, \(group.library)); a step trains on \(group.size) × the spec's batch"
            )
        }
        console.line("loading \(trainingSource)" + (testSource.map { " and \($0)" } ?? ""))
        // The training set loads on a background thread while the model compiles. The test set loads
        // in the background once training has started (it is needed at the end of epoch 1); its files
        // are checked now, so a missing one is reported before any training.
        let pendingTrainingSet = PendingDataset(trainingSource.description) { try trainingSource.load(for: graph) }
        pendingTrainingSet.start()
        try testSource?.requireFiles()
        let testSet = testSource.map { source in PendingDataset(source.description) { try source.load(for: graph) } }

        var cc = CCOptions()
        if fma { cc.flags = CCOptions.contracted(cc.flags) }
        let model = try CompiledModel(graph: graph, backend: backend, cc: cc)
        let trainingSet = try pendingTrainingSet.wait()
        model.threads = threads == 0 && group != nil ? Self.coresPerProcess(environment) : threads
        model.onBackendEvent = { console.line("backend: \($0)") }
        console.line(
            "model \(graph.modelName): \(graph.parameterCount) parameters, input \(graph.inputShape), "
                + (graph.optimizer.map { "\($0.definition.keyword) lr=\($0.instance.learningRate)" } ?? "no optimizer")
                + ", schedule \(graph.schedule.specText); backend \(model.backend.rawValue)"
                + (backend == .tiered && model.isCompilingInBackground ? " (cc compiling in the background)" : "")
                + String(format: ", compiled in %.3f s", model.compileSeconds))

        let trainer = try Trainer(model: model, trainingSet: trainingSet, pendingTestSet: testSet, options: options, group: group)
        trainer.onEvent = { event in
            console.handle(event)
            guard case .epochFinished(let record) = event else { return }
            try metricsLog?.append(record)
            if let plot {
                try AtomicFile.write(LossCurve.svg(trainer.state.history, title: "nngen train \(graph.modelName)"), to: plot)
            }
        }
        if let params {
            try model.loadParameters(from: params)
            console.line("starting from the parameters in \(params)")
        }
        if let resume {
            try trainer.resume(from: resume)
            console.line("resumed \(resume): epoch \(trainer.state.epoch), step \(trainer.state.step), seed \(trainer.state.seed)")
        }
        if let save { console.line("a checkpoint is written to \(save) after every epoch") }
        let stepsBefore = trainer.state.step
        try trainer.run()

        let wall = Date().timeIntervalSince(wallStart)
        var final = "done: epoch \(trainer.state.epoch) of \(epochs)" + String(format: " in %.1f s", wall)
        if let last = trainer.state.history.epochs.last, let accuracy = last.testAccuracy {
            final += String(format: "; final test accuracy %.2f%% (loss %.4f)", 100 * accuracy, last.testLoss ?? .nan)
        }
        console.line(final)
        if let group, trainer.state.step > stepsBefore {
            let steps = Double(trainer.state.step - stepsBefore)
            console.line(
                String(
                    format: "allreduce: %.3f ms per step over %d processes (%.1f%% of the run, with the evaluations' reductions)",
                    1000 * group.allreduceSeconds / max(steps, 1),
                    group.size, 100 * group.allreduceSeconds / max(wall, 1e-9)))
        }
        for path in [save, metrics, plot].compactMap({ $0 }) { console.line("wrote \(path)") }
    }

    /// The default --threads of a data-parallel rank: the cores divided among the ranks on this host
    /// (`OMPI_COMM_WORLD_LOCAL_SIZE`), at least 1.
    static func coresPerProcess(_ environment: [String: String]) -> Int {
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }.map { max(1, $0) } ?? 1
        return max(1, ProcessInfo.processInfo.activeProcessorCount / local)
    }
}
