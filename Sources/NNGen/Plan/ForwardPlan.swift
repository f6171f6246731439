// The memory plan of a forward-only build (`nngen compile --inference`): parameters, buffers, and the
// activations forward needs — no gradients, no optimizer state, no arrays only backward reads — with
// storage shared by tensors that are never alive at the same time.

extension MemoryPlan {
    /// Lays out a shaped graph for forward passes only:
    ///
    /// ```
    /// parameters | buffers | activations (shared by liveness)
    /// ```
    /// Forward runs layer 0 (time 0) to layer L−1 (time L−1), then the loss (time L). A layer's output is
    /// alive from its own time to its last reader's (the network output to the end, where predict reads
    /// it); a layer's scratch arrays and the loss's only at their own time. Activations are fused as in a
    /// training build (`ActivationFusion`): the fused producer's output, which forward never writes, gets
    /// no block of its own (its slot is the activation's output, where its own per-layer forward may
    /// write), and the activation's output is alive from the producer's time, when the fused call writes
    /// it: the fused call keeps the producer's input and the activation's output, two blocks, as the
    /// separate calls would. Blocks are placed in time order, larger first, each at the lowest offset that
    /// overlaps no block alive at the same time.
    public static func planForward(_ graph: ShapedGraph) -> MemoryPlan {
        var cursor = Cursor()
        var tensors = layOut(.parameter, of: graph, from: &cursor)
        let parameters = MemoryRegion(offset: 0, count: cursor.offset)
        tensors += layOut(.buffer, of: graph, from: &cursor)
        let buffers = MemoryRegion(offset: parameters.count, count: cursor.offset - parameters.count)
        let activationStart = cursor.offset

        // The blocks and when each is alive.
        enum Owner: Hashable {
            case output(Int)
            case saved(Int, String)
            case lossSaved(String)
        }
        struct Block {
            var owner: Owner
            var size: Int
            var first: Int
            var last: Int
        }
        let count = graph.layers.count
        var lastReader = Array(0..<count)
        for (reader, layer) in graph.layers.enumerated() {
            for case .layer(let p) in layer.sources { lastReader[p] = max(lastReader[p], reader) }
        }
        if count > 0 { lastReader[count - 1] = count }
        let fusions = ActivationFusion.find(in: graph)
        var blocks: [Block] = []
        for (index, layer) in graph.layers.enumerated() {
            if !fusions.contains(where: { $0.producer == index }) {
                let first = fusions.first { $0.activation == index }?.producer ?? index
                blocks.append(
                    Block(owner: .output(index), size: align(max(layer.output.count, 1)), first: first, last: lastReader[index]))
            }
            for s in layer.instance.saved where !s.backwardOnly {
                blocks.append(Block(owner: .saved(index, s.name), size: align(max(s.count, 1)), first: index, last: index))
            }
        }
        for s in graph.loss.instance.saved where !s.backwardOnly {
            blocks.append(Block(owner: .lossSaved(s.name), size: align(max(s.count, 1)), first: count, last: count))
        }
        let order = blocks.indices.sorted { a, b in
            blocks[a].first != blocks[b].first ? blocks[a].first < blocks[b].first : blocks[a].size > blocks[b].size
        }
        var placed: [(offset: Int, block: Block)] = []
        var offsets: [Owner: Int] = [:]
        var end = 0
        for index in order {
            let block = blocks[index]
            let overlapping = placed.filter { $0.block.first <= block.last && block.first <= $0.block.last }
                .map { (start: $0.offset, end: $0.offset + $0.block.size) }
                .sorted { $0.start < $1.start }
            var offset = 0
            for range in overlapping {
                if offset + block.size <= range.start { break }
                offset = max(offset, range.end)
            }
            placed.append((offset, block))
            offsets[block.owner] = activationStart + offset
            end = max(end, offset + block.size)
        }

        var layerSlots: [LayerSlots] = []
        for (index, layer) in graph.layers.enumerated() {
            var saved: [String: Int] = [:]
            for s in layer.instance.saved where !s.backwardOnly { saved[s.name] = offsets[.saved(index, s.name)] ?? activationStart }
            let stored = fusions.first { $0.producer == index }?.activation ?? index
            layerSlots.append(LayerSlots(output: offsets[.output(stored)] ?? activationStart, saved: saved, gradient: 0, accumulate: []))
        }
        var lossSaved: [String: Int] = [:]
        for s in graph.loss.instance.saved where !s.backwardOnly { lossSaved[s.name] = offsets[.lossSaved(s.name)] ?? activationStart }
        let total = activationStart + end
        return MemoryPlan(
            parameters: parameters, gradients: MemoryRegion(offset: activationStart, count: 0), buffers: buffers,
            optimizerState: MemoryRegion(offset: activationStart, count: 0), stateSlots: 0,
            activations: MemoryRegion(offset: activationStart, count: end), tensors: tensors, layers: layerSlots,
            lossSaved: lossSaved, gradientSlabs: [], total: total, forwardOnly: true, fusions: fusions)
    }
}
