// DynamicLibrary: a shared library loaded with dlopen — how the cc backend's compiled code is run.

import Foundation
import NNGen

/// A shared library opened with `dlopen(RTLD_NOW | RTLD_LOCAL)`, closed when the object is released.
///
/// Function pointers taken from it are valid only while the object lives.
public final class DynamicLibrary: CompiledProgram, @unchecked Sendable {
    /// The file it was loaded from.
    public let path: String
    private let handle: UnsafeMutableRawPointer

    /// Loads the library at `path`, resolving every symbol now, so that a missing one fails here rather
    /// than in the middle of a training step.
    public init(path: String) throws {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed without saying why"
            throw Diagnostic(
                file: path, "cannot load the compiled library: \(reason)",
                hint: "delete the file to rebuild it; check that the compiler builds for this machine")
        }
        self.path = path
        self.handle = handle
    }

    deinit { dlclose(handle) }

    /// The address of an exported symbol, or nil.
    public func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
}
