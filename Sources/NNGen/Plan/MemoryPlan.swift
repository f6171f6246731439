// MemoryPlan: every tensor of a model at a fixed offset in one block of memory, planned at compile time.

/// What a planned tensor is for.
public enum TensorRole: String, Sendable, Hashable {
    case parameter, buffer
}

/// A named tensor at a fixed offset (in elements) of the model memory.
public struct PlannedTensor: Sendable, Hashable {
    /// `fc1.weight`
    public var name: String
    public var role: TensorRole
    public var offset: Int
    public var shape: TensorShape
    public var spec: TensorSpec
    public var count: Int { shape.count }
}

/// A contiguous range of the model memory, in elements.
public struct MemoryRegion: Sendable, Hashable {
    public var offset: Int
    public var count: Int
}

/// The offsets of one layer's own slots: its output, its saved scratch arrays and its output's gradient.
public struct LayerSlots: Sendable, Hashable {
    public var output: Int
    /// Saved-array name → offset.
    public var saved: [String: Int]
    /// Where the gradient of its output is during backward (a gradient slab).
    public var gradient: Int
    /// Per input: true when its backward adds to that input's gradient, which another consumer of the same
    /// tensor (running earlier in backward) wrote first; false when it overwrites it.
    public var accumulate: [Bool]
}

/// The whole memory layout of a model: one block of `real`, regions in this order:
///
/// ```
/// parameters | gradients (same layout) | buffers | optimizer state (slots × parameter layout)
///            | activations and saved scratch | gradient slabs
/// ```
/// The gradient slabs hold the gradients of layer outputs during backward; gradients that are never alive
/// at the same time share one (`GradientSlabs`): two for a chain, each as large as the largest gradient it
/// holds.
/// Every tensor starts on a 64-element boundary so kernels may use aligned vector loads.
public struct MemoryPlan: Sendable {
    public static let alignment = 64

    public var parameters: MemoryRegion
    public var gradients: MemoryRegion
    public var buffers: MemoryRegion
    public var optimizerState: MemoryRegion
    public var stateSlots: Int
    public var activations: MemoryRegion
    public var tensors: [PlannedTensor]
    public var layers: [LayerSlots]
    public var lossSaved: [String: Int]
    /// The slabs that carry layer-output gradients backward.
    public var gradientSlabs: [MemoryRegion]
    /// Elements in the whole block.
    public var total: Int
    /// True for a forward-only build's plan (`planForward`): no gradients, optimizer state or backward
    /// scratch, activations shared by liveness.
    public var forwardOnly = false
    /// The activations the whole-network functions apply inside the layer before them.
    public var fusions: [ActivationFusion] = []

    /// The fusion whose producer is layer `index` (it calls the fused entry points).
    public func fusion(producer index: Int) -> ActivationFusion? { fusions.first { $0.producer == index } }
    /// The fusion whose activation is layer `index` (the network does not call its own kernels).
    public func fusion(activation index: Int) -> ActivationFusion? { fusions.first { $0.activation == index } }

    /// Where the network output (the loss input) lives.
    public var outputOffset: Int { layers.last?.output ?? 0 }
    /// Where the gradient of the network output (written by the loss) lives.
    public var outputGradientOffset: Int { layers.last?.gradient ?? 0 }
    /// Offset of a parameter's gradient: the parameter's offset shifted by the parameter region.
    public func gradientOffset(of tensor: PlannedTensor) -> Int { tensor.offset + parameters.count }
    /// Offset of optimizer state slot `k`: a region with the layout of the parameters.
    public func stateOffset(slot: Int) -> Int { optimizerState.offset + slot * parameters.count }
    /// Offset of a parameter's element in optimizer state slot `k`.
    public func stateOffset(of tensor: PlannedTensor, slot: Int) -> Int {
        stateOffset(slot: slot) + (tensor.offset - parameters.offset)
    }

    public func tensor(named name: String) -> PlannedTensor? { tensors.first { $0.name == name } }
    public var parameterTensors: [PlannedTensor] { tensors.filter { $0.role == .parameter } }
    public var bufferTensors: [PlannedTensor] { tensors.filter { $0.role == .buffer } }

    static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Hands out aligned blocks one after another from offset 0.
    struct Cursor {
        var offset = 0
        /// The offset of a new block of `count` elements (at least one alignment unit, so offsets differ).
        mutating func take(_ count: Int) -> Int {
            let start = offset
            offset += align(max(count, 1))
            return start
        }
    }

    /// Every layer's tensors of one role (its parameters or its buffers), in layer order, each taken from `cursor`.
    static func layOut(_ role: TensorRole, of graph: ShapedGraph, from cursor: inout Cursor) -> [PlannedTensor] {
        graph.layers.flatMap { layer in
            (role == .parameter ? layer.instance.parameters : layer.instance.buffers).map { spec in
                PlannedTensor(
                    name: "\(layer.name).\(spec.suffix)", role: role, offset: cursor.take(spec.shape.count), shape: spec.shape,
                    spec: spec)
            }
        }
    }

    /// Lays out a shaped graph.
    public static func plan(_ graph: ShapedGraph) -> MemoryPlan {
        var cursor = Cursor()
        var tensors = layOut(.parameter, of: graph, from: &cursor)
        let parameters = MemoryRegion(offset: 0, count: cursor.offset)
        cursor.offset += parameters.count
        let gradients = MemoryRegion(offset: parameters.count, count: parameters.count)
        let bufferStart = cursor.offset
        tensors += layOut(.buffer, of: graph, from: &cursor)
        let buffers = MemoryRegion(offset: bufferStart, count: cursor.offset - bufferStart)
        let slots = graph.optimizer?.instance.stateSlots ?? 0
        let optimizerState = MemoryRegion(offset: cursor.offset, count: slots * parameters.count)
        cursor.offset += optimizerState.count
        let activationStart = cursor.offset
        // A fused producer's output is never stored by the network (its fused calls write the activation's
        // output instead): it gets no block of its own but the activation's, where its own per-layer
        // kernel writes (the activation then runs in place, elementwise, as in a forward-only build).
        let fusions = ActivationFusion.find(in: graph)
        var layerSlots: [LayerSlots] = []
        for (index, layer) in graph.layers.enumerated() {
            let fused = fusions.contains { $0.producer == index }
            let output = fused ? 0 : cursor.take(layer.output.count)
            var saved: [String: Int] = [:]
            for s in layer.instance.saved { saved[s.name] = cursor.take(s.count) }
            layerSlots.append(LayerSlots(output: output, saved: saved, gradient: 0, accumulate: []))
        }
        for fusion in fusions { layerSlots[fusion.producer].output = layerSlots[fusion.activation].output }
        var lossSaved: [String: Int] = [:]
        for s in graph.loss.instance.saved { lossSaved[s.name] = cursor.take(s.count) }
        let slabs = GradientSlabs.assign(graph, fusions: fusions)
        let gradientSlabs = slabs.sizes.map { MemoryRegion(offset: cursor.take($0), count: $0) }
        for index in layerSlots.indices {
            layerSlots[index].gradient = gradientSlabs[slabs.slabOfLayer[index]].offset
            layerSlots[index].accumulate = slabs.accumulate[index]
        }
        let activations = MemoryRegion(offset: activationStart, count: cursor.offset - activationStart)
        return MemoryPlan(
            parameters: parameters, gradients: gradients, buffers: buffers, optimizerState: optimizerState,
            stateSlots: slots, activations: activations, tensors: tensors, layers: layerSlots,
            lossSaved: lossSaved, gradientSlabs: gradientSlabs, total: cursor.offset, fusions: fusions)
    }
}
