// ActivationFusion: which activations the whole-network functions apply inside the layer before them
// (batchnorm then relu in one pass over memory), chosen from the graph at compile time.

/// A layer whose template also applies the activation that alone reads its output.
///
/// The network's forward calls `<producer>_forward_<kind>`, which writes the activation's output in the
/// producer's last loop and does not store the producer's own; the activation's forward is not called.
/// The producer has no output block of its own in either plan: its output offset is the activation's,
/// where the layer's own forward (`LayerKernels`) writes, and the activation's own kernels then run in
/// place (relu can: its forward is elementwise, and its backward reads only the sign of its input, which
/// its output has too — relu(v) > 0 exactly where v > 0). Backward calls
/// `<producer>_backward_<kind>` with the activation output's gradient: it applies the activation's
/// derivative while it reads that gradient (for relu the mask `relu output > 0`), so the producer output's
/// gradient is never stored, and the activation's backward is not called. Both compute the same values in
/// the same order as the two separate calls: the same bits (`ActivationFusionTests`), one pass over memory
/// fewer each way, and one tensor fewer in the forward's working set.
public struct ActivationFusion: Sendable, Hashable {
    /// The layer whose template applies the activation: `bn1`.
    public var producer: Int
    /// The activation layer, `producer + 1`: `relu1`.
    public var activation: Int
    /// The activation's keyword, which names the fused entry points: `relu` in `bn1_forward_relu`.
    public var kind: String

    /// The fusions of a graph: every layer followed by an activation its instance can apply
    /// (`LayerInstance.fusibleActivations`) that reads its output and nothing else, where no other layer
    /// reads that output and the activation is the next layer in the forward order.
    public static func find(in graph: ShapedGraph) -> [ActivationFusion] {
        var readers = [Int](repeating: 0, count: graph.layers.count)
        for layer in graph.layers {
            for case .layer(let p) in layer.sources { readers[p] += 1 }
        }
        return graph.layers.indices.dropLast().compactMap { producer in
            let next = graph.layers[producer + 1]
            guard next.definition.arity == .unary, next.sources == [.layer(producer)], readers[producer] == 1,
                graph.layers[producer].instance.fusibleActivations.contains(next.kind)
            else { return nil }
            return ActivationFusion(producer: producer, activation: producer + 1, kind: next.kind)
        }
    }

    /// The `#define` a producer's template gets: where the activation's output goes, e.g. `RELU_OUT`.
    public var outputConstant: String { kind.uppercased() + "_OUT" }
}

extension EntryPoint {
    /// A layer's forward with a fused activation: the layer's forward, then the activation's, in one pass.
    /// Its parameters are the layer's own forward's (`layerForward`, or `mergeForward` for a merge layer).
    public static func fusedForward(_ kind: String, arity: LayerArity = .unary) -> EntryPoint {
        var entry = EntryPoint.ownForward(arity)
        entry.suffix = "forward_\(kind)"
        return entry
    }

    /// A layer's backward with a fused activation: `dout` is the gradient of the activation's output.
    public static func fusedBackward(_ kind: String, arity: LayerArity = .unary) -> EntryPoint {
        var entry = EntryPoint.ownBackward(arity)
        entry.suffix = "backward_\(kind)"
        return entry
    }
}
