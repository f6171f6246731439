// CCCompiler: compiles C with the system compiler into a shared library, cached by content, and dlopens it.

import Foundation
import NNGen

/// Which C compiler the cc backend runs, with which flags, and where it caches what it builds.
///
/// The defaults come from the environment: `$CC` (else `cc`), `$NNGEN_CFLAGS` (else `defaultFlags`),
/// and the cache directory `$NNGEN_CACHE`, else `$XDG_CACHE_HOME/nngen`, else `~/.cache/nngen`.
public struct CCOptions: Sendable, Hashable {
    /// The compiler command: a program name looked up in `PATH`, or a path; further words are passed
    /// before the flags (`CC="ccache gcc"` works).
    public var compiler: String
    /// Code-generation flags. `-fPIC -shared -o <library> <source> -lm` are always added after them.
    public var flags: [String]
    /// Where sources and libraries are kept, named by the hash of source, compiler and flags.
    public var cacheDirectory: String

    /// `-O3 -march=native -ffp-contract=off`.
    ///
    /// `-ffp-contract=off` keeps GCC from fusing `a*b + c` into one FMA instruction wherever it likes (GCC's
    /// default in GNU mode is `-ffp-contract=fast`; tcc never fuses). The kernels fuse exactly where they
    /// say so (the GEMMs' products: fma/fmaf in the scalar path, the CPU's vector FMA in the fast path), so
    /// with it the cc build computes exactly what the tcc build computes, bit for bit: no flag here
    /// reassociates (no `-ffast-math`), so vectorized loops keep the order of every sum.
    public static let defaultFlags = ["-O3", "-march=native", "-ffp-contract=off"]

    /// `flags` with FMA contraction on, the opt-in contracted mode (`--fma`): `-ffp-contract=off` (or any
    /// other contraction flag) becomes `-ffp-contract=fast`, added when absent, so GCC and Clang also fuse
    /// the multiply-adds outside the GEMMs (batchnorm, the optimizer update, ...) into FMAs. Still
    /// deterministic run to run and for every thread count (each sum keeps its order; the tasks do not
    /// depend on the thread count), but no longer the tcc build's bits, so it goes with the cc backend only.
    public static func contracted(_ flags: [String]) -> [String] {
        flags.filter { !$0.hasPrefix("-ffp-contract=") } + ["-ffp-contract=fast"]
    }

    /// Options from the environment, each overridable by an argument.
    public init(compiler: String? = nil, flags: [String]? = nil, cacheDirectory: String? = nil) {
        let environment = ProcessInfo.processInfo.environment
        func nonEmpty(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        self.compiler = compiler ?? nonEmpty("CC") ?? "cc"
        self.flags =
            flags ?? nonEmpty("NNGEN_CFLAGS").map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
            ?? Self.defaultFlags
        if let cacheDirectory {
            self.cacheDirectory = cacheDirectory
        } else if let cache = nonEmpty("NNGEN_CACHE") {
            self.cacheDirectory = cache
        } else if let xdg = nonEmpty("XDG_CACHE_HOME") {
            self.cacheDirectory = xdg + "/nngen"
        } else if let home = nonEmpty("HOME") {
            self.cacheDirectory = home + "/.cache/nngen"
        } else {
            self.cacheDirectory = NSTemporaryDirectory() + "nngen-cache-\(getuid())"
        }
    }
}

/// A library built (or found in the cache) by `CCCompiler`.
public struct CCBuild: Sendable {
    public var library: DynamicLibrary
    /// True when the library came from the cache and no compiler ran.
    public var cacheHit: Bool
    /// What the compiler printed on success (warnings), empty on a cache hit.
    public var warnings: String
}

public enum CCCompiler {
    /// Compiles `source` into a shared library and loads it, or loads the library a previous run built
    /// from the same source with the same compiler and flags (content-addressed: the cache key hashes the
    /// source, the compiler's path, size and modification time, the flags, and for `-march=native` the CPU).
    ///
    /// `name` prefixes the cached file names (`<name>-<hash>.c`, `.so`) so that people can tell them apart.
    /// The library is written to a temporary name and renamed, so concurrent builds of the same source
    /// never expose half a file. Throws a Diagnostic when no compiler is found, when it fails (with its
    /// messages), or when the library does not load.
    public static func build(source: String, name: String, options: CCOptions = CCOptions()) throws -> CCBuild {
        let compiler = try resolveCompiler(options.compiler)
        let paths = cachePaths(source: source, name: name, compiler: compiler, options: options)
        // What builds of processes that no longer run left: `.NAME.tmp-PID-N` files (a compiler killed
        // with its process, a library never renamed into place). Also on a cache hit: a compiler orphaned
        // by a tiered run that exited may write its output after the next build has already cleaned up.
        AtomicFile.removeStaleTemporaries(inFolder: options.cacheDirectory) { $0.hasPrefix(".") }
        if let library = cachedLibrary(paths: paths, source: source) {
            return CCBuild(library: library, cacheHit: true, warnings: "")
        }
        try AtomicFile.createDirectory(options.cacheDirectory)
        let temporary = "\(options.cacheDirectory)/.\(paths.stem).tmp-\(getpid())-\(temporaryCounter.next())"
        try writeSource(source, to: paths.source, temporary: temporary + ".c")
        let arguments =
            compiler.leadingArguments + options.flags + nativeDefines(options)
            + ["-fPIC", "-shared", "-o", temporary, paths.source, "-lm"]
        let run = try runCompiler(compiler, arguments: arguments, output: temporary)
        guard run.status == 0, FileManager.default.fileExists(atPath: temporary) else {
            unlink(temporary)
            throw compilerFailure(compiler: options.compiler, status: run.status, output: run.output)
        }
        guard rename(temporary, paths.library) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Diagnostic(
                file: paths.library, "cannot store the compiled library: \(reason)",
                hint: "check that the cache directory is writable, or set NNGEN_CACHE to one that is")
        }
        return CCBuild(library: try DynamicLibrary(path: paths.library), cacheHit: false, warnings: run.output)
    }

    /// The library for `source` if the cache already holds it; never runs the compiler.
    public static func cached(source: String, name: String, options: CCOptions = CCOptions()) -> DynamicLibrary? {
        guard let compiler = try? resolveCompiler(options.compiler) else { return nil }
        return cachedLibrary(
            paths: cachePaths(source: source, name: name, compiler: compiler, options: options),
            source: source)
    }

    // MARK: Cache

    struct CachePaths {
        var stem: String
        var source: String
        var library: String
    }

    static func cachePaths(source: String, name: String, compiler: ResolvedCompiler, options: CCOptions) -> CachePaths {
        var hash = ContentHash()
        hash.add("nngen cc cache 1")
        hash.add(compiler.identity)
        for word in compiler.leadingArguments + options.flags { hash.add(word) }
        if options.flags.contains(where: { $0.contains("native") }) { hash.add(machineIdentity) }
        for word in nativeDefines(options) { hash.add(word) }
        hash.add(source)
        let safeName = String(name.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" }.prefix(64))
        let stem = "\(safeName.isEmpty ? "program" : safeName)-\(hash.hex)"
        return CachePaths(
            stem: stem, source: "\(options.cacheDirectory)/\(stem).c",
            library: "\(options.cacheDirectory)/\(stem).so")
    }

    /// Loads the cached library when both it and its source exist and the source is exactly `source`
    /// (so a hash collision rebuilds instead of running other code). A library that fails to load is
    /// deleted, to be rebuilt.
    static func cachedLibrary(paths: CachePaths, source: String) -> DynamicLibrary? {
        guard FileManager.default.fileExists(atPath: paths.library),
            let stored = FileManager.default.contents(atPath: paths.source),
            stored.elementsEqual(source.utf8)
        else { return nil }
        guard let library = try? DynamicLibrary(path: paths.library) else {
            unlink(paths.library)
            return nil
        }
        return library
    }

    /// Writes the source under a temporary name unique to this build, then renames it into place: builds
    /// of the same source running at once (threads or processes) never see half a file.
    static func writeSource(_ source: String, to path: String, temporary: String) throws {
        let bytes = Array(source.utf8)
        let file = fopen(temporary, "wb")
        let written = file.map { file in bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } } ?? 0
        let closed = file.map { fclose($0) == 0 } ?? false
        guard written == bytes.count, closed else {
            unlink(temporary)
            throw Diagnostic(
                file: temporary, "cannot write the C source into the cache",
                hint: "check that the cache directory is writable, or set NNGEN_CACHE to one that is")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Diagnostic(file: path, "cannot store the C source in the cache: \(reason)")
        }
    }

    /// Distinguishes temporary files of concurrent builds in one process.
    private static let temporaryCounter = Counter()

    /// What a `-march=native` build also learns about this machine: `-DNNGEN_L1D_BYTES=N`, the L1 data
    /// cache of one core as Linux reports it, which sizes the GEMMs' depth blocks (templates/nngen.h).
    /// Nothing for other targets (the build may run elsewhere) or when Linux does not say.
    static func nativeDefines(_ options: CCOptions) -> [String] {
        guard options.flags.contains(where: { $0.contains("native") }), let bytes = l1DataCacheBytes else { return [] }
        return ["-DNNGEN_L1D_BYTES=\(bytes)"]
    }

    /// The level-1 data cache of cpu0 (`/sys/devices/system/cpu/cpu0/cache/index*/`: level 1, type Data,
    /// size like `48K`), or nil.
    static let l1DataCacheBytes: Int? = {
        let folder = "/sys/devices/system/cpu/cpu0/cache"
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for index in 0..<8 {
            let cache = "\(folder)/index\(index)"
            guard read(cache + "/level") == "1", read(cache + "/type") == "Data", let size = read(cache + "/size") else {
                continue
            }
            let scale = size.hasSuffix("K") ? 1024 : size.hasSuffix("M") ? 1024 * 1024 : 1
            guard let number = Int(size.filter(\.isNumber)), number > 0, number < 1 << 20 else { return nil }
            return number * scale
        }
        return nil
    }()

    /// The CPU model and feature flags: what `-march=native` compiles for.
    static let machineIdentity: String = {
        var identity = ""
        #if arch(x86_64)
            identity = "x86_64"
        #elseif arch(arm64)
            identity = "arm64"
        #endif
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            for key in ["model name", "flags", "Features", "CPU part"] {
                if let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix(key) }) {
                    identity += "\n" + line
                }
            }
        }
        return identity
    }()

    // MARK: Running the compiler

    /// A compiler program found on disk, with the words of the command that follow it.
    struct ResolvedCompiler {
        var path: String
        var leadingArguments: [String]
        /// Path after symlinks, size and modification time: changes when the compiler is upgraded.
        var identity: String
    }

    /// Finds the first word of `command` (a path, or a name looked up in `PATH`).
    static func resolveCompiler(_ command: String) throws -> ResolvedCompiler {
        let words = command.split(whereSeparator: \.isWhitespace).map(String.init)
        let fileManager = FileManager.default
        guard let program = words.first else {
            throw Diagnostic("no C compiler given (CC is empty)", hint: "set CC to a C compiler, e.g. CC=gcc")
        }
        var found: String?
        if program.contains("/") {
            found = fileManager.isExecutableFile(atPath: program) ? program : nil
        } else {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            found = path.split(separator: ":").map { "\($0)/\(program)" }.first { fileManager.isExecutableFile(atPath: $0) }
        }
        guard let found else {
            throw Diagnostic(
                "C compiler '\(program)' not found" + (program.contains("/") ? "" : " in PATH")
                    + " (the cc backend runs $CC, default cc)",
                hint: "install one (apt-get install gcc), set CC to a C compiler, or use --backend tcc")
        }
        let real = URL(fileURLWithPath: found).resolvingSymlinksInPath().path
        var status = stat()
        let stamp = stat(real, &status) == 0 ? "\(status.st_size) \(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)" : ""
        return ResolvedCompiler(path: found, leadingArguments: Array(words.dropFirst()), identity: "\(real) \(stamp)")
    }

    /// Serializes process launches: Foundation's `Process.run` on Linux can fail when several threads spawn
    /// at once (seen as a rare "cannot run the C compiler" under parallel tests).
    private static let launchLock = NSLock()

    /// Runs the compiler with stdin closed, collecting stdout and stderr together. A launch that fails is
    /// retried twice, after a short pause, before it is reported.
    static func runCompiler(_ compiler: ResolvedCompiler, arguments: [String], output file: String? = nil) throws -> (
        status: Int32, output: String
    ) {
        var attempt = 0
        while true {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: compiler.path)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = pipe
            process.standardError = pipe
            do {
                // Started and recorded at once: a compiler still running when nngen exits is stopped then,
                // and its output removed.
                try launchLock.withLock { try RunningCompilers.shared.launch(process, output: file) }
            } catch let exiting as RunningCompilers.Exiting {
                throw Diagnostic("the C compiler was not started: \(exiting.reason)")
            } catch {
                attempt += 1
                if attempt < 3 {
                    usleep(50_000)
                    continue
                }
                throw Diagnostic(
                    "cannot run the C compiler '\(compiler.path)': \(error.localizedDescription)",
                    hint: "check that CC names an executable C compiler, or use --backend tcc")
            }
            defer { RunningCompilers.shared.remove(process.processIdentifier) }
            // Read before waiting: a compiler that fills the pipe would otherwise block forever.
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            return (status, String(decoding: output, as: UTF8.self))
        }
    }

    /// A Diagnostic located at the compiler's first error (`file:line:col: error: text`), carrying
    /// everything it printed.
    static func compilerFailure(compiler: String, status: Int32, output: String) -> Diagnostic {
        let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            return Diagnostic(
                "the C compiler '\(compiler)' failed (exit status \(status)) and printed nothing",
                hint: "check that CC names a working C compiler (try: \(compiler) --version), or use --backend tcc")
        }
        var location: SourceLocation?
        var message = "the C compiler '\(compiler)' failed (exit status \(status))"
        if let first = text.split(separator: "\n").first(where: { $0.contains(": error: ") || $0.contains(": fatal error: ") }),
            let marker = first.range(of: ": fatal error: ") ?? first.range(of: ": error: ")
        {
            let place = first[..<marker.lowerBound].split(separator: ":", omittingEmptySubsequences: false)
            if place.count >= 2, let line = Int(place[1]) {
                location = SourceLocation(file: String(place[0]), line: line, column: place.count >= 3 ? Int(place[2]) ?? 0 : 0)
            }
            message += ": " + first[marker.upperBound...]
        }
        return Diagnostic(
            at: location, message + "\n" + text,
            hint: "fix the C at that line (for generated code: the template or emitter that wrote it), or use --backend tcc")
    }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}

/// The compilers nngen has started and not yet seen finish (a tiered model's background cc build, for
/// one). When the process exits — a short `predict` may end before cc does — each is sent SIGTERM with its
/// whole process group (Foundation's `Process` starts the child as the leader of a group of its own, and
/// the driver's cc1, as and ld join it: SIGTERM to the driver alone leaves them running, under load for
/// seconds) and its unfinished output removed, so no compiler outlives nngen and no half-built library
/// stays in the cache. A compiler is started and recorded under the lock that stopping takes, and none is
/// started once stopping began: other threads run on while `exit` calls its handlers, and a background
/// build that started its compiler then, or between starting and recording it, would outlive nngen.
final class RunningCompilers: @unchecked Sendable {
    static let shared = RunningCompilers(stopAtExit: true)
    private let lock = NSLock()
    private var running: [Int32: String?] = [:]
    private var stopping = false

    /// Why `launch` refused to start a compiler.
    struct Exiting: Error {
        let reason = "nngen is exiting"
    }

    init(stopAtExit: Bool) {
        if stopAtExit { atexit { RunningCompilers.shared.stopAll() } }
    }

    /// Starts `process` and records it (with the file it writes, removed if it is stopped), unless
    /// `stopAll` has run: then it throws `Exiting` and starts nothing.
    ///
    /// The compiler starts with no signal blocked: a child inherits the mask of the thread that spawns it
    /// (Foundation's `Process` does not reset it), and a thread of a process started from, e.g., a test
    /// runner's worker blocks most signals, SIGTERM included — its compilers then ignored `stopAll`.
    func launch(_ process: Process, output: String?) throws {
        try lock.withLock {
            guard !stopping else { throw Exiting() }
            var none = sigset_t()
            var mask = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, &mask)
            defer { pthread_sigmask(SIG_SETMASK, &mask, nil) }
            try process.run()
            running[process.processIdentifier] = output
        }
    }

    func remove(_ pid: Int32) { _ = lock.withLock { running.removeValue(forKey: pid) } }

    /// Sends SIGTERM to every recorded compiler's process group and removes its output; no compiler
    /// starts after this.
    func stopAll() {
        let all = lock.withLock {
            stopping = true
            return running
        }
        for (pid, output) in all {
            kill(getpgid(pid) == pid ? -pid : pid, SIGTERM)
            if let output { unlink(output) }
        }
    }
}
