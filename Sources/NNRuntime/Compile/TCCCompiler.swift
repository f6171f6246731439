// TCCCompiler: compiles C source in memory with libtcc; TCCProgram owns the result and hands out its functions.
import CNNGenHost
import CTCC
import Foundation
import NNGen

/// libtcc keeps global state, so every call into it, on any TCCState, is made while holding this lock.
let tccLock = NSLock()

/// A C program compiled in memory by libtcc.
///
/// Owns the TCCState: the code and data live until deinit, which deletes the state under the lock.
/// Function pointers taken from a program are valid only while the program is alive: keep it in a
/// variable or property for as long as you call them (`try compile(...).function(...)` dangles).
public final class TCCProgram: @unchecked Sendable {
    private let state: OpaquePointer
    /// Warnings tcc printed while compiling, as it wrote them (`file:line: warning: ...`).
    public let warnings: [String]

    init(state: OpaquePointer, warnings: [String]) {
        self.state = state
        self.warnings = warnings
    }

    deinit {
        tccLock.withLock { tcc_delete(state) }
    }

    /// The address of a global symbol (function or variable), or nil if the program has none by that name.
    public func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        tccLock.withLock { tcc_get_symbol(state, name) }
    }

    /// The function `name` as a `@convention(c)` function type, e.g.
    /// `program.function("sum", as: (@convention(c) (UnsafePointer<Double>, Int32) -> Double).self)`.
    public func function<F>(_ name: String, as type: F.Type) throws -> F {
        guard let address = symbol(name) else {
            throw Diagnostic(
                "the compiled C program has no function '\(name)'",
                hint: "check that the C source defines '\(name)' and does not declare it static")
        }
        return unsafeBitCast(address, to: F.self)
    }
}

public enum TCCCompiler {
    /// Compiles C source in memory and links it against the running process (libc and libm resolve
    /// through it, so the source may declare `expf`, `memcpy`, ... without including their headers).
    ///
    /// `fileName` names the source in tcc's messages until a `#line` directive in it says otherwise.
    /// `options` are tcc command-line options (`-Wall -DN=4`); only -D -U -I -W -w -f -m -O -g -b -bt
    /// -std= -nostdlib are accepted, because tcc exits the process on an option it does not know.
    /// With `hostGEMM`, the source is compiled with `NNGEN_HOST_GEMM` defined and may call the runtime's
    /// vector GEMM, `nngen_host_gemm_f32` and `nngen_host_gemm_f64` (Sources/CNNGenHost/include/nngen_host.h):
    /// generated code then runs its GEMMs at vector speed with the scalar loops' bits.
    /// Throws a Diagnostic carrying all of tcc's messages when compiling or linking fails.
    public static func compile(
        source: String, fileName: String = "<nngen>", options: String = "", hostGEMM: Bool = false
    ) throws -> TCCProgram {
        try checkOptions(options)
        let runtime = try runtimeDirectory()
        let escapedName = fileName.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
        let text = "#line 1 \"\(escapedName)\"\n" + source
        let log = MessageLog()

        return try tccLock.withLock {
            guard let state = tcc_new() else { throw Diagnostic("tcc_new failed (out of memory?)") }
            tcc_set_error_func(state, Unmanaged.passUnretained(log).toOpaque()) { opaque, message in
                guard let opaque, let message else { return }
                let log = Unmanaged<MessageLog>.fromOpaque(opaque).takeUnretainedValue()
                log.messages.append(String(cString: message))
            }
            tcc_set_lib_path(state, runtime)
            tcc_add_include_path(state, runtime + "/include")
            if !options.isEmpty { tcc_set_options(state, options) }
            if hostGEMM {
                tcc_define_symbol(state, "NNGEN_HOST_GEMM", "1")
                tcc_add_symbol(state, "nngen_host_gemm_f32", nngen_host_gemm_address(0))
                tcc_add_symbol(state, "nngen_host_gemm_f64", nngen_host_gemm_address(1))
            }
            tcc_set_output_type(state, TCC_OUTPUT_MEMORY)
            guard tcc_compile_string(state, text) == 0, nngen_tcc_relocate_auto(state) == 0 else {
                tcc_delete(state)
                throw log.diagnostic(fileName: fileName)
            }
            // `log` dies with this call; nothing after relocation reports through the callback.
            tcc_set_error_func(state, nil, nil)
            return TCCProgram(state: state, warnings: log.messages)
        }
    }

    /// Rejects options tcc would answer with exit(1) instead of an error.
    static func checkOptions(_ options: String) throws {
        let exact = ["-g", "-b", "-bt", "-w", "-nostdlib"]
        let prefixes = ["-D", "-U", "-I", "-W", "-f", "-m", "-O", "-std="]
        for option in options.split(whereSeparator: \.isWhitespace)
        where !exact.contains(String(option)) && !prefixes.contains(where: { option.hasPrefix($0) }) {
            let allowed = (prefixes + exact).joined(separator: " ")
            throw Diagnostic(
                "tcc option '\(option)' is not supported",
                hint: "use only \(allowed): tcc exits the process on options it does not know")
        }
    }
}

/// Collects what tcc reports through its error callback during one compilation.
private final class MessageLog {
    var messages: [String] = []

    /// One Diagnostic for a failed compilation: located at tcc's first error, with every message tcc
    /// printed (warnings and further errors too) in the text.
    func diagnostic(fileName: String) -> Diagnostic {
        guard let first = messages.first(where: { $0.contains(": error: ") }) ?? messages.first else {
            return Diagnostic(file: fileName, "tcc failed without saying why")
        }
        // tcc writes `file:line: error: text`, or `tcc: error: text` when no line is involved (linking);
        // an error inside an included file comes after `In file included from ...:` lines.
        let lastLine = first.split(separator: "\n").last.map(String.init) ?? first
        var location: SourceLocation?
        var text = lastLine
        if let marker = lastLine.range(of: ": error: ") ?? lastLine.range(of: ": warning: ") {
            text = String(lastLine[marker.upperBound...])
            let place = lastLine[..<marker.lowerBound]
            if place != "tcc" {
                // Column 0: tcc reports lines only.
                if let colon = place.lastIndex(of: ":"), let line = Int(place[place.index(after: colon)...]) {
                    location = SourceLocation(file: String(place[..<colon]), line: line, column: 0)
                } else {
                    location = SourceLocation(file: String(place), line: 0, column: 0)
                }
            }
        }
        let others = messages.filter { $0 != first }
        if !others.isEmpty { text += "\n" + others.joined(separator: "\n") }
        let hint =
            text.hasPrefix("undefined symbol")
            ? "define it in the C source, or declare only functions libc and libm provide"
            : "fix the C at that line (for generated code: the template or emitter that wrote it)"
        return Diagnostic(at: location, text, hint: hint)
    }
}
