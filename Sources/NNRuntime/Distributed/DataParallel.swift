// DataParallel: one model per rank of an MPI job, kept identical — a training step whose gradients are
// averaged over every rank by one allreduce, batchnorm running statistics averaged, and a checksum of
// everything an update changes, compared across ranks.

import NNGen

extension CompiledModel {
    /// One data-parallel training step on the staged batch (this rank's share of the global batch):
    /// forward and backward here, then the gradient region — every parameter gradient, one contiguous
    /// block of `memory` — summed over the ranks by one allreduce and divided by their number, then the
    /// same update on every rank. With K ranks of batch N the update is the one a single process would
    /// make with batch K·N: the loss is a mean over the batch, so its gradient is the mean of the ranks'
    /// gradients. Returns this rank's loss.
    ///
    /// Dropout masks come from the step's seed mixed with the rank, so ranks draw different masks (rank 0
    /// draws what a single process would).
    public func stagedTrainStep(learningRate: Double, group: ProcessGroup) throws -> Double {
        if isCompilingInBackground { installBackgroundBuild() }
        guard let update = functions.update else {
            throw Diagnostic(at: nil, "model '\(graph.modelName)' has no optimizer", hint: "add e.g. 'optimizer sgd lr=0.05' to the spec")
        }
        step += 1
        let rng = stepSeed ^ (UInt64(group.rank) &* 0xA24B_AED4_963E_E407)
        let loss = functions.forward(memory, inputBuffer, targetBuffer, RunMode.train.flag, rng)
        functions.backward(memory, inputBuffer, targetBuffer, nil, RunMode.train.flag)
        try averageOverRanks(plan.gradients, group: group)
        update(memory, learningRate, step)
        return loss
    }

    /// Replaces every buffer (batchnorm's running mean and variance) by its mean over the ranks, so that
    /// evaluation and checkpoints see the statistics of every rank's data (each rank moves its own during
    /// training, from its own batches, as PyTorch's DistributedDataParallel does).
    public func averageBuffers(group: ProcessGroup) throws {
        try averageOverRanks(plan.buffers, group: group)
    }

    /// The region's elements summed over the ranks, then divided by their number (exact for 2ⁿ ranks).
    func averageOverRanks(_ region: MemoryRegion, group: ProcessGroup) throws {
        guard region.count > 0 else { return }
        let start = memory + region.offset * graph.dtype.byteSize
        try group.sum(start, count: region.count, dtype: graph.dtype)
        switch graph.dtype {
        case .float32:
            let p = start.assumingMemoryBound(to: Float.self)
            let ranks = Float(group.size)
            for i in 0..<region.count { p[i] /= ranks }
        case .float64:
            let p = start.assumingMemoryBound(to: Double.self)
            let ranks = Double(group.size)
            for i in 0..<region.count { p[i] /= ranks }
        }
    }

    /// FNV-1a over the bytes of the parameters, buffers and optimizer state: what must be the same on every
    /// rank of a data-parallel run.
    public func stateChecksum() -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        let size = graph.dtype.byteSize
        for region in [plan.parameters, plan.buffers, plan.optimizerState] {
            let bytes = UnsafeRawBufferPointer(start: memory + region.offset * size, count: region.count * size)
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }

    /// Throws a `CollectiveError` on every rank when the ranks' `stateChecksum`s differ (each rank sends
    /// its checksum and its complement to one maximum: equal everywhere iff max(h) = ¬max(¬h)).
    public func checkSameOnEveryRank(group: ProcessGroup, epoch: Int) throws {
        let hash = stateChecksum()
        let maxima = try group.maximum([hash, ~hash])
        guard maxima[0] == ~maxima[1] else {
            throw CollectiveError(
                Diagnostic(
                    "after epoch \(epoch) the ranks' parameters differ (checksums from \(String(~maxima[1], radix: 16)) to \(String(maxima[0], radix: 16))); the data-parallel run is no longer one model",
                    hint: "every rank must run the same nngen build with the same spec, data, options and NNGEN_CFLAGS"))
        }
    }
}
