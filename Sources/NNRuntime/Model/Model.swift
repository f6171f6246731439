// Model: a compiled network that owns its memory — parameters, gradients, buffers, optimizer state, arena.

import Foundation
import NNGen

/// Training mode (batch statistics, dropout active) or test mode (running statistics, no dropout).
public enum Mode: String, Sendable, CaseIterable {
    case train, test
    var flag: Int32 { self == .train ? 1 : 0 }
}

/// What the loss compares the network output with.
public enum Target: Sendable {
    /// One class id per sample (softmax and SVM losses).
    case classes([Int32])
    /// One value per output element, row-major (MSE loss).
    case values([Double])
}

/// A compiled model and its memory. Create one from a spec, `initialize(seed:)` it (or load tensors), then run
/// `forward`, `backward`, `trainStep`, or single layers through `layer(_:)`.
///
/// Not thread-safe: one model is driven by one thread at a time.
public final class Model: @unchecked Sendable {
    public let graph: ShapedGraph
    public let plan: MemoryPlan
    public let source: CSource
    /// The backend whose code the model runs now (`.tcc` or `.cc`; a `.tiered` model starts on tcc).
    public private(set) var backend: Backend
    /// The backend asked for at creation.
    public let requestedBackend: Backend
    /// What happened to the model's code (tiered mode: started from the cached cc build, the switch to cc,
    /// or why the cc build failed), oldest first. Events after `init` are also passed to `onBackendEvent`.
    public private(set) var backendEvents: [BackendEvent] = []
    /// Called on the training thread with each new backend event, e.g. to log the switch to cc.
    public var onBackendEvent: ((BackendEvent) -> Void)?
    /// Tiered mode: the cc build compiling in the background, until it is installed or has failed.
    private var pendingBuild: BackgroundBuild?
    /// Seconds spent compiling the C source (of the current backend).
    public private(set) var compileSeconds: Double
    /// The one block every kernel works on: `plan.total` elements of `graph.dtype`, 64-byte aligned.
    public let memory: UnsafeMutableRawPointer
    /// One input batch in the model's dtype; `stagedForward` and `stagedTrainStep` read it.
    public let inputBuffer: UnsafeMutableRawPointer
    /// One batch of targets: `int32` class ids, or values in the model's dtype.
    public let targetBuffer: UnsafeMutableRawPointer
    /// Optimizer steps taken (the `step` passed to the update kernels counts from 1).
    public var step: Int64 = 0
    /// Threads the optimized (cc) kernels use; 0 means every core (or `$NNGEN_THREADS`). Kept across a tiered
    /// switch. Results do not depend on it: every output element is computed by one thread in a fixed order.
    public var threads: Int = 0 {
        didSet { threadsInEffect = Int(functions.setThreads(Int32(clamping: threads))) }
    }
    /// The thread count the current build runs with (always 1 under tcc, which has no thread pool).
    public private(set) var threadsInEffect: Int = 1
    /// Seeds the per-step random numbers of stochastic layers.
    public var rngSeed: UInt64 = 0

    /// The code the function pointers point into; kept alive as long as they are used.
    private(set) var program: any CompiledProgram
    private(set) var functions: NetworkFunctions
    /// Scratch for single-layer calls: x, dout and dx of the largest activation.
    let layerScratch: UnsafeMutableRawPointer
    let layerScratchCount: Int

    /// Parses, shape-checks and compiles the spec at `path`.
    public convenience init(specPath path: String, backend: Backend = .tcc, cc: CCOptions = CCOptions()) throws {
        try self.init(graph: try ShapeInference.load(try readSpec(path), path: path), backend: backend, cc: cc)
    }

    /// Compiles a shaped graph with `backend`; `cc` says which compiler, flags and cache the cc backend
    /// (and the second tier of `.tiered`) uses. `.tiered` compiles with libtcc now and starts the cc build
    /// on a background thread, installed by a later step; when the cache already holds the cc build, the
    /// model starts on it directly.
    public init(graph: ShapedGraph, backend: Backend = .tcc, templates: TemplateLibrary? = nil,
                cc: CCOptions = CCOptions()) throws {
        self.graph = graph
        requestedBackend = backend
        plan = MemoryPlan.plan(graph)
        source = try Emitter.emit(graph, plan: plan, templates: try templates ?? TemplateLibrary.current(),
                                  options: EmitOptions(lineDirectives: true))
        let compiled: CompiledBuild
        if backend == .tiered {
            let start = DispatchTime.now().uptimeNanoseconds
            if let library = CCCompiler.cached(source: source.singleUnit, name: source.modelName, options: cc) {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                compiled = CompiledBuild(program: library, backend: .cc, cacheHit: true, seconds: seconds)
                backendEvents.append(.startedFromCache(.cc, loadSeconds: seconds))
            } else {
                pendingBuild = BackgroundBuild(source: source, backend: .cc, options: cc)
                compiled = try Backend.tcc.compile(source, cc: cc)
            }
        } else {
            compiled = try backend.compile(source, cc: cc)
        }
        self.backend = compiled.backend
        program = compiled.program
        compileSeconds = compiled.seconds
        functions = try NetworkFunctions(graph: graph, program: compiled.program)
        threadsInEffect = Int(functions.setThreads(0))
        let size = graph.dtype.byteSize
        memory = Self.allocate(bytes: plan.total * size)
        inputBuffer = Self.allocate(bytes: graph.inputShape.count * size)
        let targetCount = graph.loss.definition.target == .classIndices ? graph.batch : graph.outputShape.count
        targetBuffer = Self.allocate(bytes: targetCount * max(size, 4))
        layerScratchCount = graph.layers.flatMap { [$0.input.count, $0.output.count] }.max() ?? 1
        layerScratch = Self.allocate(bytes: 3 * layerScratchCount * size)
    }

    /// Switches to code compiled by another backend from the same source (tiered compilation). Call it
    /// between steps: the memory layout is identical, so training continues where it was.
    public func install(_ program: any CompiledProgram, backend: Backend, compileSeconds: Double) throws {
        functions = try NetworkFunctions(graph: graph, program: program)
        threadsInEffect = Int(functions.setThreads(Int32(clamping: threads)))
        self.program = program
        self.backend = backend
        self.compileSeconds = compileSeconds
    }

    /// Tiered mode: true while the cc build is still compiling in the background.
    public var isCompilingInBackground: Bool { pendingBuild != nil }

    /// Tiered mode: installs the background build if it has finished (or, with `wait`, when it finishes)
    /// and records the switch, or the failure, in `backendEvents`. Runs on the training thread, between
    /// steps; `stagedForward` and `stagedTrainStep` call it without waiting.
    public func installBackgroundBuild(wait: Bool = false) {
        guard let build = pendingBuild, let outcome = wait ? build.wait() : build.poll() else { return }
        pendingBuild = nil
        let event: BackendEvent
        switch outcome {
        case .success(let compiled):
            do {
                try install(compiled.program, backend: compiled.backend, compileSeconds: compiled.seconds)
                event = .switched(to: compiled.backend, afterSteps: step, compileSeconds: compiled.seconds)
            } catch let diagnostic as Diagnostic {
                event = .compileFailed(compiled.backend, diagnostic)
            } catch {
                event = .compileFailed(compiled.backend, Diagnostic("\(error)"))
            }
        case .failure(let diagnostic):
            event = .compileFailed(.cc, diagnostic)
        }
        backendEvents.append(event)
        onBackendEvent?(event)
    }

    deinit {
        for pointer in [memory, inputBuffer, targetBuffer, layerScratch] { pointer.deallocate() }
    }

    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(bytes, 64))
        return pointer
    }

    // MARK: Tensors

    /// Fills every parameter and buffer from its initializer (He weights, zero biases, γ = 1, β = 0,
    /// running mean 0, running variance 1) and clears gradients, optimizer state and the step count.
    public func initialize(seed: UInt64) {
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: plan.total * graph.dtype.byteSize)
        for tensor in plan.tensors {
            store(tensor.spec.initializer.values(for: tensor.spec, name: tensor.name, seed: seed), at: tensor.offset)
        }
        step = 0
        rngSeed = seed
    }

    /// Names of every parameter and buffer, in memory order.
    public var tensorNames: [String] { plan.tensors.map(\.name) }
    /// Names of the trainable parameters.
    public var parameterNames: [String] { plan.parameterTensors.map(\.name) }

    func planned(_ name: String) throws -> PlannedTensor {
        guard let tensor = plan.tensor(named: name) else {
            throw Diagnostic("model '\(graph.modelName)' has no tensor '\(name)'",
                             hint: "its tensors are: " + tensorNames.joined(separator: ", "))
        }
        return tensor
    }

    /// The shape of a parameter or buffer.
    public func shape(of name: String) throws -> Shape { try planned(name).shape }

    /// The values of a parameter or buffer.
    public func tensor(_ name: String) throws -> [Double] {
        let tensor = try planned(name)
        return load(at: tensor.offset, count: tensor.count)
    }

    /// Replaces the values of a parameter or buffer.
    public func setTensor(_ name: String, _ values: [Double]) throws {
        let tensor = try planned(name)
        guard values.count == tensor.count else {
            throw Diagnostic("tensor '\(name)' has shape \(tensor.shape) (\(tensor.count) values), got \(values.count) values")
        }
        store(values, at: tensor.offset)
    }

    /// The gradient of the loss with respect to a parameter, as left by the last `backward`.
    public func gradient(_ name: String) throws -> [Double] {
        let tensor = try planned(name)
        guard tensor.role == .parameter else {
            throw Diagnostic("'\(name)' is a buffer, not a trainable parameter; it has no gradient")
        }
        return load(at: plan.gradientOffset(of: tensor), count: tensor.count)
    }

    /// The network output of the last forward pass (the loss input), row-major.
    public var output: [Double] { load(at: plan.outputOffset, count: graph.outputShape.count) }

    /// The output of one layer from the last forward pass.
    public func layerOutput(_ index: Int) -> [Double] {
        load(at: plan.layers[index].output, count: graph.layers[index].output.count)
    }

    func load(at offset: Int, count: Int) -> [Double] {
        load(from: memory, offset: offset, count: count)
    }

    func store(_ values: [Double], at offset: Int) {
        store(values, to: memory, offset: offset)
    }

    func load(from base: UnsafeMutableRawPointer, offset: Int, count: Int) -> [Double] {
        switch graph.dtype {
        case .float32:
            let p = base.assumingMemoryBound(to: Float.self) + offset
            return (0..<count).map { Double(p[$0]) }
        case .float64:
            let p = base.assumingMemoryBound(to: Double.self) + offset
            return Array(UnsafeBufferPointer(start: p, count: count))
        }
    }

    func store(_ values: [Double], to base: UnsafeMutableRawPointer, offset: Int) {
        switch graph.dtype {
        case .float32:
            let p = base.assumingMemoryBound(to: Float.self) + offset
            for (i, v) in values.enumerated() { p[i] = Float(v) }
        case .float64:
            let p = base.assumingMemoryBound(to: Double.self) + offset
            for (i, v) in values.enumerated() { p[i] = v }
        }
    }

    // MARK: Staging

    /// Copies one input batch into `inputBuffer`, checking its size.
    public func stageInput(_ values: [Double]) throws {
        guard values.count == graph.inputShape.count else {
            throw Diagnostic("the input has \(values.count) values; '\(graph.inputName)' is \(graph.inputShape) = \(graph.inputShape.count) values")
        }
        store(values, to: inputBuffer, offset: 0)
    }

    /// Copies one batch of targets into `targetBuffer`, checking its size, kind and class range.
    public func stageTarget(_ target: Target) throws {
        switch (target, graph.loss.definition.target) {
        case (.classes(let labels), .classIndices):
            guard labels.count == graph.batch else {
                throw Diagnostic("got \(labels.count) labels for a batch of \(graph.batch)")
            }
            let classes = graph.outputShape[1]
            if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
                throw Diagnostic("label \(labels[bad]) at index \(bad) is not a class id in 0..<\(classes)")
            }
            let p = targetBuffer.assumingMemoryBound(to: Int32.self)
            for (i, label) in labels.enumerated() { p[i] = label }
        case (.values(let values), .dense):
            guard values.count == graph.outputShape.count else {
                throw Diagnostic("got \(values.count) target values; the output is \(graph.outputShape) = \(graph.outputShape.count) values")
            }
            store(values, to: targetBuffer, offset: 0)
        case (.values, .classIndices):
            throw Diagnostic("loss \(graph.loss.definition.keyword) takes class ids as targets, got real values")
        case (.classes, .dense):
            throw Diagnostic("loss \(graph.loss.definition.keyword) takes real-valued targets \(graph.outputShape), got class ids")
        }
    }

    // MARK: Whole network

    /// Forward pass on the staged input; returns the mean loss against the staged target (or 0 without one).
    public func stagedForward(mode: Mode, withTarget: Bool = true, rng: UInt64 = 0) -> Double {
        if pendingBuild != nil { installBackgroundBuild() }
        return functions.forward(memory, inputBuffer, withTarget ? UnsafeRawPointer(targetBuffer) : nil, mode.flag, rng)
    }

    /// Backward pass after `stagedForward` in the same mode; fills every parameter gradient and, when given,
    /// the input gradient (`graph.inputShape.count` elements of the model's dtype).
    public func stagedBackward(mode: Mode, inputGradient: UnsafeMutableRawPointer? = nil) {
        functions.backward(memory, inputBuffer, targetBuffer, inputGradient, mode.flag)
    }

    /// One fused training step (forward, backward, update) on the staged batch. Returns the loss.
    public func stagedTrainStep(learningRate: Double) throws -> Double {
        if pendingBuild != nil { installBackgroundBuild() }
        guard let trainStep = functions.trainStep else {
            throw Diagnostic(at: nil, "model '\(graph.modelName)' has no optimizer", hint: "add e.g. 'optimizer sgd lr=0.05' to the spec")
        }
        step += 1
        return trainStep(memory, inputBuffer, targetBuffer, learningRate, step, stepSeed)
    }

    /// The random seed of the current step, mixed from `rngSeed` and `step`.
    var stepSeed: UInt64 {
        var mixer = SplitMix64(seed: rngSeed ^ (UInt64(bitPattern: step) &* 0x9E37_79B9_7F4A_7C15))
        return mixer.next()
    }

    /// Forward pass. Returns the mean loss, or 0 when `target` is nil.
    @discardableResult
    public func forward(input: [Double], target: Target? = nil, mode: Mode = .train) throws -> Double {
        try stageInput(input)
        if let target { try stageTarget(target) }
        return stagedForward(mode: mode, withTarget: target != nil, rng: stepSeed)
    }

    /// Backward pass after `forward` with a target, in the same mode. Fills the parameter gradients (read
    /// them with `gradient(_:)`) and returns the gradient of the loss with respect to the input.
    @discardableResult
    public func backward(mode: Mode = .train) -> [Double] {
        let count = graph.inputShape.count
        let gradient = UnsafeMutableRawPointer.allocate(byteCount: count * graph.dtype.byteSize, alignment: 64)
        defer { gradient.deallocate() }
        stagedBackward(mode: mode, inputGradient: gradient)
        return load(from: gradient, offset: 0, count: count)
    }

    /// One training step: forward (train mode), backward and the optimizer update. `learningRate` defaults to
    /// the spec's `lr`. Returns the loss before the update.
    @discardableResult
    public func trainStep(input: [Double], target: Target, learningRate: Double? = nil) throws -> Double {
        try stageInput(input)
        try stageTarget(target)
        return try stagedTrainStep(learningRate: learningRate ?? graph.optimizer?.instance.learningRate ?? 0)
    }

    /// A single layer's kernels, by name.
    public func layer(_ name: String) throws -> LayerKernels {
        guard let index = graph.layers.firstIndex(where: { $0.name == name }) else {
            throw Diagnostic("model '\(graph.modelName)' has no layer '\(name)'",
                             hint: "its layers are: " + graph.layers.map(\.name).joined(separator: ", "))
        }
        return LayerKernels(model: self, index: index)
    }
}

/// Reads a spec file, with a clear error when it cannot be read.
public func readSpec(_ path: String) throws -> String {
    guard let text = String(validating: try FileBytes.read(path), as: UTF8.self) else {
        throw Diagnostic(file: path, "the spec file is not UTF-8 text")
    }
    return text
}
