// CompiledProgram: machine code for one generated C source, from any backend, that hands out symbols.

/// Compiled code that stays valid while the object lives. Function pointers taken from it must not be
/// called after it is released.
public protocol CompiledProgram: AnyObject, Sendable {
    /// The address of a global symbol, or nil.
    func symbol(_ name: String) -> UnsafeMutableRawPointer?
}

extension TCCProgram: CompiledProgram {}
