// Finds tcc's runtime directory: libtcc1.a (helpers tcc links into every program) and its include/.
import Foundation
import NNGen

extension TCCCompiler {
    /// The directories searched for libtcc1.a when `NNGEN_TCC_DIR` is not set, most likely first.
    static var defaultRuntimeDirectories: [String] {
        #if arch(x86_64)
            let multiarch = ["/usr/lib/x86_64-linux-gnu/tcc"]
        #elseif arch(arm64)
            let multiarch = ["/usr/lib/aarch64-linux-gnu/tcc"]
        #else
            let multiarch: [String] = []
        #endif
        return multiarch + ["/usr/lib/tcc", "/usr/local/lib/tcc", "/usr/lib64/tcc", "/usr/local/lib64/tcc"]
    }

    /// Where libtcc1.a and tcc's include dir are: `$NNGEN_TCC_DIR` if set, else the first of
    /// `defaultRuntimeDirectories` that holds libtcc1.a.
    public static func runtimeDirectory() throws -> String {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["NNGEN_TCC_DIR"], !override.isEmpty {
            guard fileManager.fileExists(atPath: override + "/libtcc1.a") else {
                throw Diagnostic(
                    "libtcc runtime not found: NNGEN_TCC_DIR=\(override) has no libtcc1.a",
                    hint: "point NNGEN_TCC_DIR at the directory holding libtcc1.a and include/, or unset it")
            }
            return override
        }
        let candidates = defaultRuntimeDirectories
        guard let found = candidates.first(where: { fileManager.fileExists(atPath: $0 + "/libtcc1.a") }) else {
            throw Diagnostic(
                "libtcc runtime not found (looked in \(candidates.joined(separator: ", ")))",
                hint: "install it: apt-get install tcc libtcc-dev (or set NNGEN_TCC_DIR to tcc's directory)")
        }
        return found
    }
}
