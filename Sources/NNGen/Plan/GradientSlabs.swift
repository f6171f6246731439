// GradientSlabs: where the gradient of each layer output lives during backward. Gradients that are never
// alive at the same time share a slab, so a chain needs two (the classic ping-pong) and a graph as many as
// its widest point of backward.

/// The assignment of layer-output gradients to slabs, and which backward writes add to a gradient.
struct GradientSlabs {
    /// Elements of each slab: the largest gradient it holds.
    var sizes: [Int]
    /// The slab of each layer output's gradient.
    var slabOfLayer: [Int]
    /// Per layer, per input: whether its backward adds to that input's gradient (another consumer wrote it
    /// first) instead of overwriting it.
    var accumulate: [[Bool]]

    /// Backward runs the loss (time 0), then layer L−1 (time 1) down to layer 0 (time L). The gradient of
    /// layer p's output is written first by its last consumer (the loss, for the last layer) and read last by
    /// p itself; it is alive in between. Slabs are handed out in time order, best fit first: the smallest
    /// free slab that is large enough, else the largest free one (which grows), else a new one.
    ///
    /// A fusion moves two lifetimes: the fused backward reads the activation output's gradient at the
    /// producer's time, and the producer output's gradient is never written (it dies where it is born).
    static func assign(_ graph: ShapedGraph, fusions: [ActivationFusion] = []) -> GradientSlabs {
        let count = graph.layers.count
        func time(_ layer: Int) -> Int { count - layer }
        // The last consumer in spec order runs first in backward; the last layer's gradient comes from the loss.
        var lastConsumer = [Int?](repeating: nil, count: count)
        for (consumer, layer) in graph.layers.enumerated() {
            for case .layer(let p) in layer.sources { lastConsumer[p] = consumer }
        }
        let born = lastConsumer.map { $0.map(time) ?? 0 }
        var dies = (0..<count).map(time)
        for fusion in fusions {
            dies[fusion.activation] = time(fusion.producer)
            dies[fusion.producer] = born[fusion.producer]
        }
        var sizes: [Int] = []
        var freeAt: [Int] = []  // the time after which each slab's current gradient is dead
        var slabOfLayer = [Int](repeating: 0, count: count)
        for t in 0...count {
            for p in (0..<count).reversed() where born[p] == t {
                let need = graph.layers[p].output.count
                let free = sizes.indices.filter { freeAt[$0] < t }
                let fitting = free.filter { sizes[$0] >= need }.min { sizes[$0] < sizes[$1] }
                let slab: Int
                if let chosen = fitting ?? free.max(by: { sizes[$0] < sizes[$1] }) {
                    slab = chosen
                    sizes[slab] = max(sizes[slab], need)
                } else {
                    slab = sizes.count
                    sizes.append(need)
                    freeAt.append(0)
                }
                freeAt[slab] = dies[p]
                slabOfLayer[p] = slab
            }
        }
        var written: Set<TensorSource> = count > 0 ? [.layer(count - 1)] : []
        var accumulate = [[Bool]](repeating: [], count: count)
        for index in graph.layers.indices.reversed() {
            accumulate[index] = graph.layers[index].sources.map { source in
                defer { written.insert(source) }
                return written.contains(source)
            }
        }
        return GradientSlabs(sizes: sizes, slabOfLayer: slabOfLayer, accumulate: accumulate)
    }
}
