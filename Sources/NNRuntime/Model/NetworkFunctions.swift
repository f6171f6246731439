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
/// `EntryPoint.layerForward`
typealias LayerForwardFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int32, UInt64) -> Void
/// `EntryPoint.layerBackward`
typealias LayerBackwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32) -> Void
/// `EntryPoint.lossForward`
typealias LossForwardFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) -> Double
/// `EntryPoint.lossBackward`
typealias LossBackwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Void

/// Every entry point of one compiled model.
struct NetworkFunctions {
    var forward: ForwardFunction
    var backward: BackwardFunction
    var update: UpdateFunction?
    var trainStep: TrainStepFunction?
    var setThreads: SetThreadsFunction
    var layerForward: [LayerForwardFunction]
    var layerBackward: [LayerBackwardFunction]
    var lossForward: LossForwardFunction
    var lossBackward: LossBackwardFunction

    /// Looks every symbol up by its generated name.
    init(graph: ShapedGraph, program: any CompiledProgram) throws {
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
        layerForward = try graph.layers.map { try lookup(.layerForward, owner: $0.name, as: LayerForwardFunction.self) }
        layerBackward = try graph.layers.map { try lookup(.layerBackward, owner: $0.name, as: LayerBackwardFunction.self) }
        lossForward = try lookup(.lossForward, owner: "loss", as: LossForwardFunction.self)
        lossBackward = try lookup(.lossBackward, owner: "loss", as: LossBackwardFunction.self)
    }
}
