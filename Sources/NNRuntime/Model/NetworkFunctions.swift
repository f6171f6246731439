// NetworkFunctions: the C entry points of a compiled model, as typed Swift function pointers.

import NNGen

/// `double m_forward(real *mem, const real *input, const void *target, int train, uint64_t rng)`
typealias ForwardFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Int32, UInt64) -> Double
/// `void m_backward(real *mem, const real *input, const void *target, real *grad_input, int train)`
typealias BackwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32) -> Void
/// `void m_update(real *mem, double lr, int64_t step)`
typealias UpdateFunction = @convention(c) (UnsafeMutableRawPointer?, Double, Int64) -> Void
/// `double m_train_step(real *mem, const real *input, const void *target, double lr, int64_t step, uint64_t rng)`
typealias TrainStepFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Double, Int64, UInt64) -> Double
/// `void m_LAYER_forward(real *mem, const real *x, int train, uint64_t rng)`
typealias LayerForwardFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int32, UInt64) -> Void
/// `void m_LAYER_backward(real *mem, const real *x, const real *dout, real *dx, int train)`
typealias LayerBackwardFunction =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32) -> Void

/// `double m_loss_forward(real *mem, const real *logits, const void *target)`
/// `int m_set_threads(int threads)`: returns the thread count in effect (1 under tcc).
typealias SetThreadsFunction = @convention(c) (Int32) -> Int32
typealias LossForwardFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) -> Double
/// `void m_loss_backward(real *mem, const real *logits, const void *target, real *dlogits)`
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
        func lookup(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let symbol = program.symbol(name) else {
                throw Diagnostic("generated function '\(name)' is missing from the compiled code")
            }
            return symbol
        }
        let names = Names(model: graph.modelName)
        forward = unsafeBitCast(try lookup(names.function("forward")), to: ForwardFunction.self)
        backward = unsafeBitCast(try lookup(names.function("backward")), to: BackwardFunction.self)
        if graph.optimizer != nil {
            update = unsafeBitCast(try lookup(names.function("update")), to: UpdateFunction.self)
            trainStep = unsafeBitCast(try lookup(names.function("train_step")), to: TrainStepFunction.self)
        }
        setThreads = unsafeBitCast(try lookup(names.function("set_threads")), to: SetThreadsFunction.self)
        layerForward = try graph.layers.map { unsafeBitCast(try lookup(names.layer($0.name) + "_forward"), to: LayerForwardFunction.self) }
        layerBackward = try graph.layers.map {
            unsafeBitCast(try lookup(names.layer($0.name) + "_backward"), to: LayerBackwardFunction.self)
        }
        lossForward = unsafeBitCast(try lookup(names.layer("loss") + "_forward"), to: LossForwardFunction.self)
        lossBackward = unsafeBitCast(try lookup(names.layer("loss") + "_backward"), to: LossBackwardFunction.self)
    }
}
