// Benchmark: compile time, training steps per second, GFLOP/s and per-layer kernel times of one backend.

import Foundation
import NNGen

/// How long and how often `Benchmark.measure` runs.
public struct BenchmarkOptions: Sendable {
    /// Training steps per timed repeat; nil: as many as take about `repeatSeconds` (at least 1).
    public var steps: Int?
    /// The length of one timed repeat when `steps` is nil.
    public var repeatSeconds: Double
    /// Untimed training steps before the first repeat.
    public var warmup: Int
    /// Timed repeats: steps/s is reported as their median and spread; each layer kernel is timed this often.
    public var repeats: Int
    /// Compiler, flags and cache of the cc backend.
    public var cc: CCOptions
    /// Threads of the optimized kernels (0: every core); tcc builds always run on one.
    public var threads: Int

    public init(
        steps: Int? = nil, repeatSeconds: Double = 0.5, warmup: Int = 2, repeats: Int = 5,
        cc: CCOptions = CCOptions(), threads: Int = 0
    ) {
        self.threads = max(0, threads)
        self.steps = steps.map { max(1, $0) }
        self.repeatSeconds = repeatSeconds
        self.warmup = max(0, warmup)
        self.repeats = max(1, repeats)
        self.cc = cc
    }
}

/// One layer's kernel times (median over the repeats).
public struct LayerTime: Sendable {
    public var name: String
    public var kind: String
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    public var forwardFLOPs: Int
}

/// What `Benchmark.measure` found for one backend.
public struct BackendMeasurement: Sendable {
    /// The backend asked for.
    public var backend: Backend
    /// Seconds from nothing to runnable code: tcc compile, or a cc build into an empty cache.
    public var compileSeconds: Double
    /// cc: seconds to load the same build from the cache (no compiler runs).
    public var cachedSeconds: Double?
    /// Seconds from the start of model construction to the end of the first training step.
    public var firstStepSeconds: Double
    /// Tiered: the switch to cc (or the failure), and how many steps ran before it.
    public var events: [BackendEvent]
    /// The backend the timed steps ran on.
    public var measuredBackend: Backend
    /// Training steps per second, one figure per repeat.
    public var stepsPerSecond: [Double]
    /// Training steps in each repeat.
    public var stepsPerRepeat: Int
    public var layers: [LayerTime]
    /// Median seconds of the optimizer update of all parameters.
    public var updateSeconds: Double?
    /// Useful FLOPs of one training step (see `Benchmark.trainingStepFLOPs`).
    public var stepFLOPs: Int
    /// Threads the timed build ran its kernels on.
    public var threads: Int = 1
    /// The kernels timed inside training steps, and the time between them.
    public var profile: StepProfile?

    public var medianStepsPerSecond: Double { Benchmark.median(stepsPerSecond) }
    public var gflops: Double { medianStepsPerSecond * Double(stepFLOPs) / 1e9 }
}

public enum Benchmark {
    /// The useful FLOPs of one training step: the forward pass, plus a backward pass counted as twice the
    /// forward (input gradient + parameter gradients) for every layer but the first, whose input gradient
    /// nobody needs (once its forward). The update is not counted. For W1 this is the 308 MFLOP of issue 5.
    public static func trainingStepFLOPs(_ graph: ShapedGraph) -> Int {
        let first = graph.layers.first?.instance.forwardFLOPs ?? 0
        return 3 * graph.forwardFLOPs - first
    }

    /// Builds `graph` with `backend`, trains on synthetic data (a fixed random batch) and times it.
    ///
    /// cc and tiered builds go into a fresh, temporary cache so that the compile time is the cold one;
    /// cc is then loaded a second time from that cache for the cached time.
    public static func measure(graph: ShapedGraph, backend: Backend, options: BenchmarkOptions) throws -> BackendMeasurement {
        var cc = options.cc
        let temporaryCache = NSTemporaryDirectory() + "nngen-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if backend != .tcc { cc.cacheDirectory = temporaryCache }
        defer { try? FileManager.default.removeItem(atPath: temporaryCache) }

        let start = DispatchTime.now().uptimeNanoseconds
        let model = try CompiledModel(graph: graph, backend: backend, cc: cc)
        model.threads = options.threads
        let compileSeconds = model.compileSeconds
        model.initialize(seed: 1)
        try stageSyntheticBatch(model)
        let learningRate = graph.optimizer?.instance.learningRate ?? 0
        guard graph.optimizer != nil else {
            throw Diagnostic(
                file: graph.file, "model '\(graph.modelName)' has no optimizer: there is no training step to time",
                hint: "add e.g. 'optimizer sgd lr=0.05 momentum=0.9' to the spec")
        }
        _ = try model.stagedTrainStep(learningRate: learningRate)
        let firstStepSeconds = seconds(since: start)

        var cachedSeconds: Double?
        if backend == .cc {
            let source = model.source
            let load = DispatchTime.now().uptimeNanoseconds
            let build = try CCCompiler.build(source: source.singleUnit, name: source.modelName, options: cc)
            cachedSeconds = seconds(since: load)
            if !build.cacheHit { cachedSeconds = nil }
        }
        if backend == .tiered {
            // Train until the cc build arrives (bounded), then make sure it is installed.
            let deadline = DispatchTime.now().uptimeNanoseconds + 300_000_000_000
            while model.isCompilingInBackground && DispatchTime.now().uptimeNanoseconds < deadline {
                _ = try model.stagedTrainStep(learningRate: learningRate)
            }
            model.installBackgroundBuild(wait: true)
        }

        var fastest = firstStepSeconds
        // Without a given step count, at least one warm-up step measures how many fit in a repeat.
        for _ in 0..<max(options.warmup, options.steps == nil ? 1 : 0) {
            fastest = min(fastest, try timed { _ = try model.stagedTrainStep(learningRate: learningRate) })
        }
        let steps = options.steps ?? min(1000, max(1, Int(options.repeatSeconds / max(fastest, 1e-9))))
        var rates: [Double] = []
        for _ in 0..<options.repeats {
            let begin = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps { _ = try model.stagedTrainStep(learningRate: learningRate) }
            rates.append(Double(steps) / seconds(since: begin))
        }
        let profile = try stepProfile(model, learningRate: learningRate, steps: steps, repeats: options.repeats)
        let (layers, update) = layerTimes(model, repeats: options.repeats)
        return BackendMeasurement(
            backend: backend, compileSeconds: compileSeconds, cachedSeconds: cachedSeconds,
            firstStepSeconds: firstStepSeconds, events: model.backendEvents, measuredBackend: model.backend,
            stepsPerSecond: rates, stepsPerRepeat: steps, layers: layers, updateSeconds: update, stepFLOPs: trainingStepFLOPs(graph),
            threads: model.threadsInEffect, profile: profile)
    }

    /// A fixed random batch: standard normal inputs, class ids `i·7 mod classes`, or normal targets.
    public static func stageSyntheticBatch(_ model: CompiledModel) throws {
        var rng = SplitMix64(seed: 42)
        try model.stageInput((0..<model.graph.inputShape.count).map { _ in rng.normal() })
        switch model.graph.loss.definition.target {
        case .classIndices:
            let classes = model.graph.outputShape[1]
            try model.stageTarget(.classes((0..<model.graph.batch).map { Int32(($0 * 7) % classes) }))
        case .dense:
            try model.stageTarget(.values((0..<model.graph.outputShape.count).map { _ in rng.normal() }))
        }
    }

    /// Times every layer's forward and backward kernel on its real input, as the training step calls them
    /// (train mode; the first layer gets no input-gradient buffer; a fused activation inside its producer's
    /// kernels, its own times 0), and the update of all parameters.
    static func layerTimes(_ model: CompiledModel, repeats: Int) -> ([LayerTime], Double?) {
        let graph = model.graph
        _ = model.stagedForward(mode: .train, rng: 1)
        let dout = model.scratchSlot(1)
        let dx = model.scratchSlot(2)
        model.store([Double](repeating: 1e-3, count: model.layerScratchCount), to: dout, offset: 0)
        var times: [LayerTime] = []
        for (index, layer) in graph.layers.enumerated() {
            let inputs: [UnsafeRawPointer?] = layer.sources.map(model.pointer(to:))
            // As the training step: no gradient for the network input, one scratch buffer for the others.
            let gradients = layer.sources.map { $0 == .input ? nil : dx }
            // As the step calls them: a fused activation's kernels are inside its producer's (its times 0).
            let kernels = model.plan.fusion(activation: index) == nil ? model.functions.stepKernels(index) : nil
            let forwardSeconds =
                kernels.map { k in median((0..<repeats).map { _ in timed { k.forward(model.memory, inputs, train: 1, rng: 1) } }) } ?? 0
            let backwardSeconds =
                kernels.map { k in
                    median((0..<repeats).map { _ in timed { k.backward(model.memory, inputs, dout: dout, dx: gradients, train: 1) } })
                } ?? 0
            times.append(
                LayerTime(
                    name: layer.name, kind: layer.kind, forwardSeconds: forwardSeconds,
                    backwardSeconds: backwardSeconds, forwardFLOPs: layer.instance.forwardFLOPs))
        }
        // With lr = 0 the parameters stay where they are (the momentum state moves; nothing uses it after this).
        let update = model.functions.update.map { update in
            median((0..<repeats).map { _ in timed { update(model.memory, 0, model.step + 1) } })
        }
        return (times, update)
    }

    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return seconds(since: start)
    }

    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
