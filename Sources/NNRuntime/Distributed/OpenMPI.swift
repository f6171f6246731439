// OpenMPI: Open MPI's libmpi, loaded at run time with dlopen when nngen was started by mpirun — so nngen
// builds, tests and runs on machines without MPI, and needs only the runtime library (openmpi-bin) with it.

import Foundation
import NNGen

/// The few MPI functions and predefined handles nngen uses, resolved from Open MPI's `libmpi.so.40`.
///
/// Open MPI's predefined handles (`MPI_COMM_WORLD`, `MPI_DOUBLE`, `MPI_SUM`, …) are the addresses of
/// exported globals (`ompi_mpi_comm_world`, …; mpi.h's `OMPI_PREDEFINED_GLOBAL`), so `dlsym` gives them
/// without a C shim or mpi.h. That is Open MPI's ABI (3.x to 5.x, soname 40); MPICH's differs.
struct OpenMPI {
    typealias Handle = UnsafeMutableRawPointer
    typealias InitThread =
        @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?) -> Int32
    typealias CommQuery = @convention(c) (Handle, UnsafeMutablePointer<Int32>?) -> Int32
    typealias Allreduce =
        @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    typealias Abort = @convention(c) (Handle, Int32) -> Int32
    typealias Finalize = @convention(c) () -> Int32

    let path: String
    let initThread: InitThread
    let commRank: CommQuery
    let commSize: CommQuery
    let allreduce: Allreduce
    let abort: Abort
    let finalize: Finalize
    let commWorld: Handle
    let float32: Handle
    let float64: Handle
    let uint64: Handle
    let sum: Handle
    let max: Handle

    /// `MPI_IN_PLACE` in Open MPI's mpi.h: `((void *) 1)`.
    static var inPlace: UnsafeRawPointer? { UnsafeRawPointer(bitPattern: 1) }
    /// `MPI_THREAD_SERIALIZED`: one thread at a time calls MPI (the training thread; the kernels' thread
    /// pool and the background compiler never do).
    static let threadSerialized: Int32 = 2
    /// The library tried when `NNGEN_MPI_LIBRARY` does not name another.
    static let defaultLibrary = "libmpi.so.40"

    /// Loads libmpi (global symbols, as Open MPI's plugins expect; never unloaded) and resolves every
    /// symbol now, so a wrong library fails here with its name rather than in a training step.
    static func load(environment: [String: String]) throws -> OpenMPI {
        let path = environment["NNGEN_MPI_LIBRARY"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultLibrary
        guard let handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed without saying why"
            throw Diagnostic(
                "nngen was started by mpirun, but Open MPI's library \(path) cannot be loaded: \(reason)",
                hint: "install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev), or set NNGEN_MPI_LIBRARY to its libmpi.so")
        }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(handle, name) else {
                throw Diagnostic(
                    file: path, "the MPI library has no '\(name)'",
                    hint: "nngen needs Open MPI (3.x to 5.x); set NNGEN_MPI_LIBRARY to Open MPI's libmpi.so")
            }
            return address
        }
        func function<F>(_ name: String, _: F.Type) throws -> F { unsafeBitCast(try symbol(name), to: F.self) }
        return OpenMPI(
            path: path,
            initThread: try function("MPI_Init_thread", InitThread.self),
            commRank: try function("MPI_Comm_rank", CommQuery.self),
            commSize: try function("MPI_Comm_size", CommQuery.self),
            allreduce: try function("MPI_Allreduce", Allreduce.self),
            abort: try function("MPI_Abort", Abort.self),
            finalize: try function("MPI_Finalize", Finalize.self),
            commWorld: try symbol("ompi_mpi_comm_world"),
            float32: try symbol("ompi_mpi_float"),
            float64: try symbol("ompi_mpi_double"),
            uint64: try symbol("ompi_mpi_uint64_t"),
            sum: try symbol("ompi_mpi_op_sum"),
            max: try symbol("ompi_mpi_op_max"))
    }
}
