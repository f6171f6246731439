// CSource: the generated C library of one model — a header and a source file.

/// The output of `emit`: `<model>.h` and `<model>.c`, plus the single text libtcc compiles.
public struct CSource: Sendable, Equatable {
    public var modelName: String
    public var header: String
    /// The opening comment of the `.c` file.
    var banner: String
    /// Everything of the `.c` file after its `#include` of the header.
    var body: String

    /// The `.c` file, which `#include`s the header.
    public var source: String { banner + "#include \"\(modelName).h\"\n" + body }

    /// Header and source as one translation unit (what the in-memory compiler gets). It leaves out the
    /// library's file helpers (NNGEN_NO_STDIO): the runtime does its own file input and output, and libtcc then
    /// parses no <stdio.h>.
    public var singleUnit: String { banner + "#define NNGEN_NO_STDIO 1\n" + header + body }
}
