// NetworkFunctions: the C entry points of a compiled model (NNGen's EntryPoint table), as typed Swift
// function pointers. Each typealias below is the Swift spelling of the EntryPoint named beside it.

import NNGen

/// `EntryPoint.forward`
typealias ForwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Int32, UInt64) -> Double
/// `EntryPoint.backward`
typealias BackwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32) -> Void
/// `EntryPoint.update`
typealias UpdateFunction = @convention(c) (UnsafeMutableRawPointer?, Double, Int64) -> Void
/// `EntryPoint.trainStep`
typealias TrainStepFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Double, Int64, UInt64) -> Double
/// `EntryPoint.setThreads`
typealias SetThreadsFunction = @convention(c) (Int32) -> Int32
/// The `nngen_allreduce_fn` of the generated C: sums `count` doubles over every process, in place.
public typealias AllreduceFunction = @convention(c) (UnsafeMutablePointer<Double>?, Int32) -> Void
/// `EntryPoint.setAllreduce`
typealias SetAllreduceFunction = @convention(c) (AllreduceFunction?) -> Void
/// `EntryPoint.layerForward`
typealias LayerForwardFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int32, UInt64) -> Void
/// `EntryPoint.layerBackward`
typealias LayerBackwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32) -> Void
/// `EntryPoint.mergeForward`
typealias MergeForwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UnsafeRawPointer?>?, Int32, UInt64) -> Void
/// `EntryPoint.mergeBackward`
typealias MergeBackwardFunction =
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<UnsafeRawPointer?>?, UnsafeRawPointer?, UnsafePointer<UnsafeMutableRawPointer?>?,
        Int32
    ) -> Void
/// `EntryPoint.lossForward`
typealias LossForwardFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) -> Double
/// `EntryPoint.lossBackward`
typealias LossBackwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Void

/// One layer's kernels: one input (`EntryPoint.layer`) or several (`EntryPoint.merge`).
enum LayerFunctions {
    case unary(LayerForwardFunction, LayerBackwardFunction)
    case merge(MergeForwardFunction, MergeBackwardFunction)

    /// Runs forward on `inputs` (one pointer per source, in `from=` order).
    func forward(_ memory: UnsafeMutableRawPointer, _ inputs: [UnsafeRawPointer?], train: Int32, rng: UInt64) {
        switch self {
        case .unary(let forward, _): forward(memory, inputs[0], train, rng)
        case .merge(let forward, _): inputs.withUnsafeBufferPointer { forward(memory, $0.baseAddress, train, rng) }
        }
    }

    /// Runs backward: reads `dout`, writes each input's gradient (a nil one is skipped).
    func backward(
        _ memory: UnsafeMutableRawPointer, _ inputs: [UnsafeRawPointer?], dout: UnsafeRawPointer?,
        dx: [UnsafeMutableRawPointer?], train: Int32
    ) {
        switch self {
        case .unary(_, let backward): backward(memory, inputs[0], dout, dx[0], train)
        case .merge(_, let backward):
            inputs.withUnsafeBufferPointer { x in
                dx.withUnsafeBufferPointer { backward(memory, x.baseAddress, dout, $0.baseAddress, train) }
            }
        }
    }
}

/// Every entry point of one compiled model.
struct NetworkFunctions {
    var forward: ForwardFunction
    var backward: BackwardFunction
    var update: UpdateFunction?
    var trainStep: TrainStepFunction?
    var setThreads: SetThreadsFunction
    /// Only in a build with `batchnorm ... sync=true`.
    var setAllreduce: SetAllreduceFunction?
    var layers: [LayerFunctions]
    /// Per layer, its forward and backward with the activation it applies (`EntryPoint.fusedForward`),
    /// for the producers of the plan's fusions; nil for every other layer.
    var fused: [LayerFunctions?]
    var lossForward: LossForwardFunction
    var lossBackward: LossBackwardFunction

    /// The kernels the whole-network step calls for layer `index`: its fused ones when it is a fusion's
    /// producer, else its own. (A fusion's activation is not called at all: see `MemoryPlan.fusions`.)
    func stepKernels(_ index: Int) -> LayerFunctions { fused[index] ?? layers[index] }

    /// Looks every symbol up by its generated name.
    init(graph: ShapedGraph, plan: MemoryPlan, program: any CompiledProgram) throws {
        let names = Names(model: graph.modelName)
        func lookup<F>(_ entry: EntryPoint, owner: String? = nil, as type: F.Type) throws -> F {
            let name = entry.symbol(names, owner: owner)
            guard let symbol = program.symbol(name) else {
                throw Diagnostic("generated function '\(name)' is missing from the compiled code")
            }
            return unsafeBitCast(symbol, to: type)
        }
        forward = try lookup(.forward, as: ForwardFunction.self)
        backward = try lookup(.backward, as: BackwardFunction.self)
        if graph.optimizer != nil {
            update = try lookup(.update, as: UpdateFunction.self)
            trainStep = try lookup(.trainStep, as: TrainStepFunction.self)
        }
        setThreads = try lookup(.setThreads, as: SetThreadsFunction.self)
        if graph.synchronizesBatchStatistics { setAllreduce = try lookup(.setAllreduce, as: SetAllreduceFunction.self) }
        // A layer's forward and backward named by `forward` and `backward`, typed by its arity.
        func kernels(_ layer: ShapedLayer, _ forward: EntryPoint, _ backward: EntryPoint) throws -> LayerFunctions {
            switch layer.definition.arity {
            case .unary:
                .unary(
                    try lookup(forward, owner: layer.name, as: LayerForwardFunction.self),
                    try lookup(backward, owner: layer.name, as: LayerBackwardFunction.self))
            case .merge:
                .merge(
                    try lookup(forward, owner: layer.name, as: MergeForwardFunction.self),
                    try lookup(backward, owner: layer.name, as: MergeBackwardFunction.self))
            }
        }
        layers = try graph.layers.map { try kernels($0, .ownForward($0.definition.arity), .ownBackward($0.definition.arity)) }
        fused = try graph.layers.indices.map { index in
            guard let fusion = plan.fusion(producer: index) else { return nil }
            let layer = graph.layers[index]
            let arity = layer.definition.arity
            return try kernels(layer, .fusedForward(fusion.kind, arity: arity), .fusedBackward(fusion.kind, arity: arity))
        }
        lossForward = try lookup(.lossForward, owner: "loss", as: LossForwardFunction.self)
        lossBackward = try lookup(.lossBackward, owner: "loss", as: LossBackwardFunction.self)
    }
}
