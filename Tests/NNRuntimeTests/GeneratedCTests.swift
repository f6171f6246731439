// The committed generated C and every template compile warning-free with gcc, clang and tcc.

import Foundation
import NNGen
import Testing

@Suite struct GeneratedCTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// Runs a command; returns its exit status and combined output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = environment.map { "\($0.key)=\($0.value)" }.sorted() + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func available(_ tool: String) -> Bool { run(["which", tool]).status == 0 }

    static var generatedSources: [String] {
        let base = root + "/generated"
        let models = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return models.sorted().map { "\(base)/\($0)/\($0).c" }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    static var templates: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/templates")) ?? [])
            .filter { $0.hasSuffix(".c") }.sorted().map { root + "/templates/" + $0 }
    }

    static let compilers: [[String]] = [
        ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-c"],
        // The cc backend's flags: -O3 inlines the GEMM tiles into each layer with its constants, which is
        // where GCC's flow warnings (-Wmaybe-uninitialized) can appear.
        ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O3", "-march=native", "-ffp-contract=off", "-c"],
        ["clang", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-c"],
        // The AVX2 path (the 4 × 3 tile, whatever this machine has) in the default mode and in the opt-in
        // FMA mode (`--fma`), the AVX-512 path, and x86-64-v2 (no FMA instruction: nngen_fmadd lane by
        // lane), with both compilers.
        ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O3", "-march=x86-64-v3", "-ffp-contract=off", "-c"],
        ["clang", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O3", "-march=x86-64-v3", "-ffp-contract=off", "-c"],
        ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O3", "-march=x86-64-v3", "-ffp-contract=fast", "-c"],
        ["clang", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O3", "-march=x86-64-v3", "-ffp-contract=fast", "-c"],
        ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O3", "-march=x86-64-v4", "-ffp-contract=off", "-c"],
        ["clang", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O3", "-march=x86-64-v4", "-ffp-contract=off", "-c"],
        ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-march=x86-64-v2", "-ffp-contract=off", "-c"],
        ["clang", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-march=x86-64-v2", "-ffp-contract=off", "-c"],
        ["tcc", "-Wall", "-Werror", "-c"],
    ]

    /// Runs `compiler` on `arguments` into a temporary object file, then removes it. Not `-o /dev/null`:
    /// tcc unlinks its output before writing it, which as root replaces /dev/null with a regular file.
    static func compileObject(_ compiler: [String], _ arguments: [String]) -> (status: Int32, output: String) {
        let object = NSTemporaryDirectory() + "nngen-compile-\(UUID().uuidString).o"
        defer { try? FileManager.default.removeItem(atPath: object) }
        return run(compiler + ["-o", object] + arguments)
    }

    @Test func everyExampleHasGeneratedCode() {
        #expect(Self.generatedSources.count >= 2)
    }

    @Test(arguments: generatedSources)
    func generatedLibraryCompilesCleanly(source: String) throws {
        for compiler in Self.compilers where Self.available(compiler[0]) {
            let result = Self.compileObject(compiler, [source])
            #expect(result.status == 0, "\(compiler[0]) on \(source):\n\(result.output)")
            #expect(!result.output.contains("warning"), "\(compiler[0]) warned on \(source):\n\(result.output)")
        }
    }

    /// Each template compiles alone, as a training build and as a forward-only one (NNGEN_BACKWARD 0: no
    /// backward code, and no helper left unused), and the forward-only object defines no backward function.
    @Test(arguments: templates)
    func templateCompilesOnItsOwn(template: String) throws {
        for compiler in Self.compilers where Self.available(compiler[0]) {
            for backward in ["1", "0"] {
                let result = Self.compileObject(compiler, ["-DNNGEN_BACKWARD=\(backward)", "-I", Self.root + "/templates", template])
                #expect(result.status == 0, "\(compiler[0]) on \(template), NNGEN_BACKWARD \(backward):\n\(result.output)")
            }
        }
        let optimizer = ["sgd", "adam", "adamw", "rmsprop"].contains { template.hasSuffix("/\($0).c") }
        guard Self.available("gcc"), Self.available("nm"), !optimizer else { return }
        let object = NSTemporaryDirectory() + "nngen-template-\(UUID().uuidString).o"
        defer { try? FileManager.default.removeItem(atPath: object) }
        let result = Self.run(["gcc", "-DNNGEN_BACKWARD=0", "-c", "-I", Self.root + "/templates", template, "-o", object])
        #expect(result.status == 0, "\(result.output)")
        let symbols = Self.run(["nm", object]).output
        #expect(!symbols.contains("backward"), "\(template) compiles backward code in a forward-only build:\n\(symbols)")
    }

    /// A library with two `batchnorm sync=true` layers (spatial and per feature: their shared allreduce hook
    /// declared once, `set_allreduce` in the header), training and forward-only, compiles warning-free.
    @Test func syncBatchnormLibraryCompilesCleanly() throws {
        let directory = NSTemporaryDirectory() + "nngen-sync-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
        model syncbn
        input x [4, 2, 5, 5]
        conv c1 filters=3 size=3 pad=1
        batchnorm b1 sync=true
        relu
        affine f1 out=6
        batchnorm b2 sync=true
        affine f2 out=3
        loss softmax
        optimizer sgd lr=0.1

        """.write(toFile: directory + "/syncbn.spec", atomically: true, encoding: .utf8)
        for (folder, extra) in [("train", [String]()), ("infer", ["--inference"])] {
            let compile = try HardeningTests.nngen(["compile", directory + "/syncbn.spec", "-o", directory + "/" + folder] + extra)
            #expect(compile.status == 0, "\(compile.stderr)")
            let header = try String(contentsOfFile: directory + "/\(folder)/syncbn.h", encoding: .utf8)
            #expect(header.contains("void syncbn_set_allreduce(nngen_allreduce_fn allreduce);"))
            for compiler in Self.compilers where Self.available(compiler[0]) {
                let result = Self.compileObject(compiler, ["-I", directory + "/" + folder, directory + "/\(folder)/syncbn.c"])
                #expect(result.status == 0 && !result.output.contains("warning"), "\(compiler[0]), \(folder):\n\(result.output)")
            }
        }
    }

    @Test func gccIsAvailableHere() {
        #expect(Self.available("gcc") || Self.available("cc"), "no C compiler: install gcc")
    }
}
