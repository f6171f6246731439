// ProcessGroup: the processes of one `mpirun` job (MPI_COMM_WORLD) and the collectives data-parallel
// training needs: a sum over every rank of a block of reals, and a maximum of a few integers.

import Foundation
import NNGen

/// The ranks of an MPI job this process belongs to. Made by `join(environment:)` when nngen was started
/// by Open MPI's `mpirun` with more than one process; every rank must make the same calls in the same order.
///
/// MPI's default error handler is kept (errors are fatal for the whole job), and a rank that dies is
/// noticed by mpirun, which ends every other rank: a job never hangs waiting for a dead peer.
public final class ProcessGroup: @unchecked Sendable {
    /// This process's index, 0 to `size − 1`. Rank 0 prints, writes checkpoints, metrics and plots.
    public let rank: Int
    /// Processes in the job.
    public let size: Int
    /// Seconds spent in allreduce calls so far, and their number.
    public private(set) var allreduceSeconds = 0.0
    public private(set) var allreduceCalls = 0
    /// The library the collectives run in.
    public var library: String { mpi.path }
    private let mpi: OpenMPI
    private var finished = false

    /// The MPI functions take an `int` count; larger blocks go in pieces of at most this many elements.
    static let maxCount = 1 << 30

    /// The rank and size Open MPI's launcher gave this process (`OMPI_COMM_WORLD_RANK`,
    /// `OMPI_COMM_WORLD_SIZE`), or nil when it was not started by mpirun.
    public static func launcher(_ environment: [String: String]) -> (rank: Int, size: Int)? {
        guard let sizeText = environment["OMPI_COMM_WORLD_SIZE"], let rankText = environment["OMPI_COMM_WORLD_RANK"],
            let size = Int(sizeText), let rank = Int(rankText), size >= 1, rank >= 0, rank < size
        else { return nil }
        return (rank, size)
    }

    /// Joins the job this process was launched into (MPI_Init_thread): nil when it was not started by
    /// mpirun, or by `mpirun -np 1` (a single process needs no MPI). Throws when the launcher's
    /// environment is there but Open MPI cannot be loaded or disagrees with it.
    public static func join(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProcessGroup? {
        guard let launched = launcher(environment), launched.size > 1 else { return nil }
        let mpi = try OpenMPI.load(environment: environment)
        var provided: Int32 = 0
        let code = mpi.initThread(nil, nil, OpenMPI.threadSerialized, &provided)
        guard code == 0 else { throw Diagnostic("MPI_Init_thread failed with code \(code) (\(mpi.path))") }
        var rank: Int32 = -1
        var size: Int32 = 0
        _ = mpi.commRank(mpi.commWorld, &rank)
        _ = mpi.commSize(mpi.commWorld, &size)
        let group = ProcessGroup(mpi: mpi, rank: Int(rank), size: Int(size))
        guard provided >= OpenMPI.threadSerialized else {
            throw Diagnostic("the MPI library gives thread level \(provided); nngen needs MPI_THREAD_SERIALIZED (2)")
        }
        return group
    }

    private init(mpi: OpenMPI, rank: Int, size: Int) {
        self.mpi = mpi
        self.rank = rank
        self.size = size
    }

    /// Replaces `count` elements of `dtype` at `values` by their sum over every rank (in place). Every
    /// rank receives the same bits: Open MPI picks its reduction algorithm from the message size and
    /// the number of ranks alone, so the same job sums in the same order every run.
    public func sum(_ values: UnsafeMutableRawPointer, count: Int, dtype: DType) throws {
        let type = dtype == .float32 ? mpi.float32 : mpi.float64
        try inPieces(values, count: count, byteSize: dtype.byteSize, type: type, op: mpi.sum)
    }

    /// `values` summed over every rank.
    public func sum(_ values: [Double]) throws -> [Double] {
        var out = values
        try out.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            try sum(base, count: values.count, dtype: .float64)
        }
        return out
    }

    /// The elementwise maximum of `values` over every rank.
    public func maximum(_ values: [UInt64]) throws -> [UInt64] {
        var out = values
        try out.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            try inPieces(base, count: values.count, byteSize: 8, type: mpi.uint64, op: mpi.max)
        }
        return out
    }

    private func inPieces(_ values: UnsafeMutableRawPointer, count: Int, byteSize: Int, type: OpenMPI.Handle, op: OpenMPI.Handle)
        throws
    {
        let started = DispatchTime.now().uptimeNanoseconds
        var done = 0
        while done < count {
            let piece = min(count - done, Self.maxCount)
            let code = mpi.allreduce(OpenMPI.inPlace, values + done * byteSize, Int32(piece), type, op, mpi.commWorld)
            guard code == 0 else { throw Diagnostic("MPI_Allreduce failed with code \(code) on rank \(rank) of \(size)") }
            done += piece
        }
        allreduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        allreduceCalls += 1
    }

    /// Leaves the job normally (MPI_Finalize); every rank must call it. Later calls do nothing.
    public func finish() {
        guard !finished else { return }
        finished = true
        _ = mpi.finalize()
    }

    /// Ends every rank of the job now (MPI_Abort): for an error only this rank saw, so that the others do
    /// not wait for it in the next collective.
    public func abort(code: Int32) -> Never {
        _ = mpi.abort(mpi.commWorld, code)
        exit(code)
    }
}

extension ProcessGroup {
    /// The group whose sums `batchnormAllreduce` takes: a C function pointer captures no context.
    nonisolated(unsafe) static var current: ProcessGroup?

    /// Makes this the group of `batchnormAllreduce` and gives that function to `model`, so its
    /// `batchnorm ... sync=true` layers take their statistics over every rank.
    public func connect(_ model: CompiledModel) {
        Self.current = self
        model.allreduce = Self.batchnormAllreduce
    }

    /// The `nngen_allreduce_fn` of sync batchnorm: a sum over `current`'s ranks, in place. A failed
    /// collective ends the job: the kernel that asked cannot go on without it.
    static let batchnormAllreduce: AllreduceFunction = { values, count in
        guard let group = ProcessGroup.current, let values, count > 0 else { return }
        do {
            try group.sum(UnsafeMutableRawPointer(values), count: Int(count), dtype: .float64)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            group.abort(code: 1)
        }
    }
}

/// An error every rank of a job raised at the same point (e.g. a non-finite global loss): rank 0 reports
/// it and every rank leaves the job normally, instead of one rank aborting the others.
public struct CollectiveError: Error, Sendable {
    public var diagnostic: Diagnostic
    public init(_ diagnostic: Diagnostic) { self.diagnostic = diagnostic }
}
