// Backend: how the generated C becomes machine code.

import Foundation
import NNGen

/// How the generated C is turned into machine code.
public enum Backend: String, Sendable, CaseIterable {
    /// libtcc, in memory: compiles in milliseconds, does not optimize.
    case tcc

    /// Compiles a model's C source; returns the program and the seconds it took.
    func compile(_ source: CSource) throws -> (program: any CompiledProgram, seconds: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let program: any CompiledProgram
        switch self {
        case .tcc:
            program = try TCCCompiler.compile(source: source.singleUnit, fileName: "\(source.modelName).c")
        }
        return (program, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
