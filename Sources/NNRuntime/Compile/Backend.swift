// Backend: how the generated C becomes machine code — libtcc in memory, the system compiler, or both in tiers.

import Foundation
import NNGen

/// How the generated C is turned into machine code.
public enum Backend: String, Sendable, CaseIterable {
    /// libtcc, in memory: compiles in milliseconds, does not optimize.
    case tcc
    /// The system C compiler (`$CC -O3 -march=native`), into a cached shared library loaded with dlopen.
    case cc
    /// Starts at once on the tcc build while the cc build compiles on a background thread; the model
    /// switches to it between two steps when it is ready (or starts on cc when the cache already has it).
    case tiered

    /// The backend whose code runs first.
    var firstTier: Backend { self == .tiered ? .tcc : self }

    /// Compiles a model's C source with this backend (`.tiered`: its first tier, tcc).
    func compile(_ source: CSource, cc options: CCOptions) throws -> CompiledBuild {
        let start = DispatchTime.now().uptimeNanoseconds
        let program: any CompiledProgram
        var cacheHit = false
        switch firstTier {
        case .tcc, .tiered:
            program = try TCCCompiler.compile(
                source: source.singleUnit, fileName: "\(source.modelName).c", hostGEMM: true)
        case .cc:
            let build = try CCCompiler.build(source: source.singleUnit, name: source.modelName, options: options)
            program = build.library
            cacheHit = build.cacheHit
        }
        return CompiledBuild(
            program: program, backend: firstTier, cacheHit: cacheHit,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}

/// Compiled code with where it came from.
struct CompiledBuild: @unchecked Sendable {
    var program: any CompiledProgram
    var backend: Backend
    /// cc only: the library came from the cache, no compiler ran.
    var cacheHit: Bool
    var seconds: Double
}

/// Something that happened to a model's code while it ran: what a trainer logs.
public enum BackendEvent: Sendable, CustomStringConvertible, Equatable {
    /// The model now runs the code of `backend`, installed before step `afterSteps + 1`.
    case switched(to: Backend, afterSteps: Int64, compileSeconds: Double)
    /// Tiered mode found the cc build in the cache and ran it from the first step.
    case startedFromCache(Backend, loadSeconds: Double)
    /// The background build failed; the model keeps running the code it has.
    case compileFailed(Backend, Diagnostic)

    public var description: String {
        switch self {
        case .switched(let backend, let steps, let seconds):
            return "switched to \(backend.rawValue) after \(steps) steps (compile \(Self.seconds(seconds)))"
        case .startedFromCache(let backend, let seconds):
            return "\(backend.rawValue) build found in the cache: running it from the start (loaded in \(Self.seconds(seconds)))"
        case .compileFailed(let backend, let diagnostic):
            return "the \(backend.rawValue) build failed, staying on tcc: \(diagnostic.description)"
        }
    }

    static func seconds(_ value: Double) -> String { String(format: value < 1 ? "%.3f s" : "%.2f s", value) }
}

/// The cc build of tiered mode, compiled on its own thread. The thread only produces the program;
/// the model installs it on the thread that trains, between two steps.
final class BackgroundBuild: @unchecked Sendable {
    private let lock = NSLock()
    private let finished = DispatchSemaphore(value: 0)
    private var result: Result<CompiledBuild, Diagnostic>?

    /// Starts compiling `source` with `backend` on a new thread.
    init(source: CSource, backend: Backend, options: CCOptions) {
        let thread = Thread { [self] in
            let outcome: Result<CompiledBuild, Diagnostic>
            do {
                outcome = .success(try backend.compile(source, cc: options))
            } catch let diagnostic as Diagnostic {
                outcome = .failure(diagnostic)
            } catch {
                outcome = .failure(Diagnostic("the \(backend.rawValue) build failed: \(error)"))
            }
            lock.withLock { result = outcome }
            finished.signal()
        }
        thread.name = "nngen-\(backend.rawValue)-build"
        thread.start()
    }

    /// The outcome if the build has finished, without waiting.
    func poll() -> Result<CompiledBuild, Diagnostic>? { lock.withLock { result } }

    /// Waits for the build to finish.
    func wait() -> Result<CompiledBuild, Diagnostic> {
        if let done = poll() { return done }
        finished.wait()
        finished.signal()  // later waiters pass too
        return poll() ?? .failure(Diagnostic("the background build ended without a result"))
    }
}
