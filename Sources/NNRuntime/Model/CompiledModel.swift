// CompiledModel: a compiled network that owns its memory — parameters, gradients, buffers, optimizer state, arena.

import Foundation
import NNGen

/// Training mode (batch statistics, dropout active) or test mode (running statistics, no dropout).
public enum RunMode: String, Sendable, CaseIterable {
    case train, test
    var flag: Int32 { self == .train ? 1 : 0 }
}

/// What the loss compares the network output with.
public enum LossTarget: Sendable {
    /// One class id per sample (softmax and SVM losses).
    case classes([Int32])
    /// One value per output element, row-major (MSE loss).
    case values([Double])
}

/// A compiled model and its memory. Create one from a spec, `initialize(seed:)` it (or load tensors), then run
/// `forward`, `backward`, `trainStep`, or single layers through `layer(_:)`.
///
/// Not thread-safe: one model is driven by one thread at a time.
public final class CompiledModel: @unchecked Sendable {
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
    private var secondTier: TieredCompilation?
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
    /// What `batchnorm ... sync=true` sums its statistics with over the processes of a data-parallel job
    /// (nil: this process alone). Kept across a tiered switch; ignored by builds without a sync batchnorm.
    public var allreduce: AllreduceFunction? {
        didSet { functions.setAllreduce?(allreduce) }
    }

    /// The code the function pointers point into; kept alive as long as they are used.
    private(set) var program: any CompiledProgram
    private(set) var functions: NetworkFunctions
    /// Scratch for single-layer calls: three slots (x, dout, dx) as large as the largest activation.
    let layerScratch: UnsafeMutableRawPointer
    let layerScratchCount: Int

    /// Slot 0, 1 or 2 of the single-layer scratch.
    func scratchSlot(_ slot: Int) -> UnsafeMutableRawPointer {
        layerScratch + slot * layerScratchCount * graph.dtype.byteSize
    }

    /// Parses, shape-checks and compiles the spec at `path`.
    public convenience init(specPath path: String, backend: Backend = .tcc, cc: CCOptions = CCOptions()) throws {
        try self.init(graph: try ShapeInference.load(try readSpec(path), path: path), backend: backend, cc: cc)
    }

    /// Compiles a shaped graph with `backend`; `cc` says which compiler, flags and cache the cc backend
    /// (and the second tier of `.tiered`) uses. `.tiered` compiles with libtcc now and starts the cc build
    /// on a background thread, installed by a later step; when the cache already holds the cc build, the
    /// model starts on it directly.
    public init(
        graph: ShapedGraph, backend: Backend = .tcc, templates: TemplateLibrary? = nil,
        cc: CCOptions = CCOptions()
    ) throws {
        self.graph = graph
        requestedBackend = backend
        plan = MemoryPlan.plan(graph)
        source = try Emitter.emit(
            graph, plan: plan, templates: try templates ?? TemplateLibrary.current(),
            options: EmitOptions(lineDirectives: true))
        let compiled: CompiledBuild
        if backend == .tiered {
            let tiers = try TieredCompilation.start(source, cc: cc)
            (compiled, secondTier) = (tiers.build, tiers.secondTier)
            backendEvents = tiers.events
        } else {
            compiled = try backend.compile(source, cc: cc)
        }
        self.backend = compiled.backend
        program = compiled.program
        compileSeconds = compiled.seconds
        functions = try NetworkFunctions(graph: graph, plan: plan, program: compiled.program)
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
        functions = try NetworkFunctions(graph: graph, plan: plan, program: program)
        threadsInEffect = Int(functions.setThreads(Int32(clamping: threads)))
        functions.setAllreduce?(allreduce)
        self.program = program
        self.backend = backend
        self.compileSeconds = compileSeconds
    }

    /// Tiered mode: true while the cc build is still compiling in the background.
    public var isCompilingInBackground: Bool { secondTier?.isCompiling ?? false }

    /// Tiered mode: installs the background build if it has finished (or, with `wait`, when it finishes)
    /// and records the switch, or the failure, in `backendEvents`. Runs on the training thread, between
    /// steps; `stagedForward` and `stagedTrainStep` call it without waiting.
    public func installBackgroundBuild(wait: Bool = false) {
        guard let outcome = secondTier?.take(wait: wait) else { return }
        secondTier = nil
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
}

/// The largest spec file nngen reads: 1 MiB (the examples are under 1 KiB).
public let specByteLimit = 1 << 20

/// Reads a spec file, with a clear error when it cannot be read.
public func readSpec(_ path: String) throws -> String {
    guard let text = String(validating: try FileBytes.read(path, limit: specByteLimit, what: "spec"), as: UTF8.self) else {
        throw Diagnostic(file: path, "the spec file is not UTF-8 text")
    }
    return text
}
