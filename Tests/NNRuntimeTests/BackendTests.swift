// Backends: the cc build agrees with the tcc build bit for bit, its cache is reused, its failures are
// Diagnostics, and tiered mode switches from tcc to cc between steps without changing any number.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

/// Every spec in examples/, read when the tests run (new examples are covered without editing this file).
private let exampleSpecs: [String] = {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../examples").standardized.path
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".spec") }.sorted().map { directory + "/" + $0 }
}()

/// A cache shared by the tests that only need some cc build: kept across runs, so a second run compiles nothing.
private let sharedCache = CCOptions(cacheDirectory: NSTemporaryDirectory() + "nngen-backend-tests-\(getuid())")

/// A fresh, empty cache directory for one test; removed by `removeCache`.
private func freshCache(compiler: String? = nil, flags: [String]? = nil) -> CCOptions {
    CCOptions(
        compiler: compiler, flags: flags,
        cacheDirectory: NSTemporaryDirectory() + "nngen-test-cache-\(getpid())-\(UUID().uuidString)")
}

private func removeCache(_ options: CCOptions) { try? FileManager.default.removeItem(atPath: options.cacheDirectory) }

/// Fails with the first differing element (by bit pattern) and the largest difference.
private func expectIdentical(
    _ got: [Double], _ expected: [Double], _ what: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    guard got.count == expected.count else {
        Issue.record("\(what): \(got.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    guard let first = got.indices.first(where: { got[$0].bitPattern != expected[$0].bitPattern }) else { return }
    let largest = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
    Issue.record(
        "\(what): element \(first) is \(got[first]), expected \(expected[first]) (largest difference \(largest))",
        sourceLocation: sourceLocation)
}

/// Everything a model's numbers depend on after some work: every tensor, gradient and the output.
private func snapshot(_ model: CompiledModel) throws -> [String: [Double]] {
    var values: [String: [Double]] = ["output": model.output]
    for name in model.tensorNames { values[name] = try model.tensor(name) }
    for name in model.parameterNames { values["grad." + name] = try model.gradient(name) }
    return values
}

private func expectIdentical(
    _ got: [String: [Double]], _ expected: [String: [Double]], _ context: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    #expect(got.keys.sorted() == expected.keys.sorted(), sourceLocation: sourceLocation)
    for name in expected.keys.sorted() {
        expectIdentical(got[name] ?? [], expected[name] ?? [], "\(name), \(context)", sourceLocation: sourceLocation)
    }
}

/// The values of a model after: forward + backward in train mode (with the input gradient), forward in
/// test mode, then `steps` training steps. Returns the losses and snapshots along the way.
private func exercise(_ model: CompiledModel, steps: Int) throws -> (
    losses: [Double], inputGradient: [Double], afterBackward: [String: [Double]], final: [String: [Double]]
) {
    model.initialize(seed: 7)
    try Benchmark.stageSyntheticBatch(model)
    var losses = [model.stagedForward(mode: .train, rng: 11)]
    let count = model.graph.inputShape.count
    let dx = CompiledModel.allocate(bytes: count * model.graph.dtype.byteSize)
    defer { dx.deallocate() }
    model.stagedBackward(mode: .train, inputGradient: dx)
    let inputGradient = model.load(from: dx, offset: 0, count: count)
    let afterBackward = try snapshot(model)
    losses.append(model.stagedForward(mode: .test))
    let learningRate = model.graph.optimizer?.instance.learningRate ?? 0.01
    for _ in 0..<steps { losses.append(try model.stagedTrainStep(learningRate: learningRate)) }
    return (losses, inputGradient, afterBackward, try snapshot(model))
}

/// Networks that together use every layer kind, loss and optimizer (beyond the examples), in both dtypes.
/// A network is left out while a kind it uses is not registered yet.
struct KindsCase: Sendable, CustomStringConvertible {
    var spec: String
    /// The kinds and the dtype, one line: what the test list shows.
    var description: String {
        spec.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }.joined(separator: " | ")
    }
}

private let kindCoverageSpecs: [KindsCase] = {
    let bodies = [
        """
        input x [4, 2, 6, 6]
        conv c1 filters=4 size=3 stride=1 pad=1
        groupnorm g1 groups=2
        tanh
        maxpool p1 size=2
        conv c2 filters=3 size=3
        sigmoid
        dropout d1 keep=0.8
        affine fc1 out=7
        layernorm ln1
        relu
        affine fc2 out=5
        loss svm
        optimizer adam lr=0.01
        """,
        """
        input x [5, 9]
        affine fc1 out=6
        batchnorm bn1
        tanh
        affine fc2 out=3
        loss mse
        optimizer sgd lr=0.1 momentum=0.9 weight_decay=0.01
        """,
    ]
    func registered(_ line: Substring) -> Bool {
        let words = line.split(separator: " ").map(String.init)
        guard let keyword = words.first, keyword != "input" else { return true }
        if keyword == "loss" { return LossDefinition.definition(words[1]) != nil }
        if keyword == "optimizer" { return OptimizerDefinition.definition(words[1]) != nil }
        return LayerRegistry.definition(keyword) != nil
    }
    var specs: [KindsCase] = []
    for body in bodies where body.split(separator: "\n").allSatisfy(registered) {
        let lines = body.split(separator: "\n").map(String.init)
        for dtype in DType.allCases {
            specs.append(KindsCase(spec: ([lines[0], "dtype \(dtype.rawValue)"] + lines.dropFirst()).joined(separator: "\n")))
        }
    }
    return specs
}()

/// The tcc results of each spec, computed once: several tests compare against them.
private final class TccRuns: @unchecked Sendable {
    typealias Run = (losses: [Double], inputGradient: [Double], afterBackward: [String: [Double]], final: [String: [Double]])
    private let lock = NSLock()
    private var runs: [String: Run] = [:]
    func run(_ spec: String, steps: Int) throws -> Run {
        if let done = lock.withLock({ runs[spec] }) { return done }
        let graph = try ShapeInference.load(try readSpec(spec), path: spec)
        let result = try exercise(try CompiledModel(graph: graph, backend: .tcc), steps: steps)
        lock.withLock { runs[spec] = result }
        return result
    }
}
private let tccRuns = TccRuns()

@Suite struct BackendTests {
    // MARK: Agreement

    /// The policy: the default cc flags (`-O3 -march=native -ffp-contract=off`, nothing reassociating)
    /// compute exactly what libtcc computes — every loss, output, gradient and updated parameter.
    @Test(arguments: exampleSpecs)
    func ccBuildIsBitIdenticalToTccBuild(spec: String) throws {
        let graph = try ShapeInference.load(try readSpec(spec), path: spec)
        let tcc = try tccRuns.run(spec, steps: 2)
        let ccModel = try CompiledModel(graph: graph, backend: .cc, cc: sharedCache)
        #expect(ccModel.backend == .cc)
        let cc = try exercise(ccModel, steps: 2)
        let name = URL(fileURLWithPath: spec).lastPathComponent
        expectIdentical(cc.losses, tcc.losses, "losses of \(name)")
        expectIdentical(cc.inputGradient, tcc.inputGradient, "input gradient of \(name)")
        expectIdentical(cc.afterBackward, tcc.afterBackward, "\(name) after forward + backward")
        expectIdentical(cc.final, tcc.final, "\(name) after 2 training steps")
    }

    /// The same for networks that use every layer kind, loss and optimizer, in float32 and float64.
    @Test(arguments: kindCoverageSpecs)
    func ccBuildIsBitIdenticalForEveryLayerKind(c: KindsCase) throws {
        let graph = try ShapeInference.load(c.spec, path: "kinds.spec")
        let tcc = try exercise(try CompiledModel(graph: graph, backend: .tcc), steps: 2)
        let cc = try exercise(try CompiledModel(graph: graph, backend: .cc, cc: sharedCache), steps: 2)
        let name = graph.layers.map(\.kind).joined(separator: " ") + " (\(graph.dtype.rawValue))"
        expectIdentical(cc.losses, tcc.losses, "losses of \(name)")
        expectIdentical(cc.inputGradient, tcc.inputGradient, "input gradient of \(name)")
        expectIdentical(cc.afterBackward, tcc.afterBackward, "\(name) after forward + backward")
        expectIdentical(cc.final, tcc.final, "\(name) after 2 training steps")
    }

    /// Without `-ffp-contract=off` GCC fuses a·b + c into FMA: one rounding instead of two, so results
    /// differ in the last bits. The stated tolerance for such flags (float32, W1, after forward, backward
    /// and two steps): 1e-5 of each tensor's largest magnitude (measured: ≤ 7e-7), with an absolute floor of
    /// 1e-7 for tensors that are zero up to rounding (the biases in front of batchnorm get gradient 0).
    @Test func contractedBuildAgreesWithinTheStatedTolerance() throws {
        guard let spec = exampleSpecs.first(where: { $0.hasSuffix("fashion_mlp.spec") }) else { return }
        let graph = try ShapeInference.load(try readSpec(spec), path: spec)
        let tcc = try tccRuns.run(spec, steps: 2)
        var options = sharedCache
        options.flags = ["-O3", "-march=native"]
        let fused = try exercise(try CompiledModel(graph: graph, backend: .cc, cc: options), steps: 2)
        func close(_ got: [Double], _ expected: [Double], _ what: String) {
            let scale = expected.map(abs).max() ?? 0
            let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(
                got.count == expected.count && worst <= max(1e-5 * scale, 1e-7),
                "\(what): difference \(worst), largest magnitude \(scale)")
        }
        close(fused.losses, tcc.losses, "losses")
        close(fused.inputGradient, tcc.inputGradient, "input gradient")
        for (name, values) in tcc.final { close(fused.final[name] ?? [], values, name) }
    }

    // MARK: Cache

    @Test func secondBuildIsACacheHitAndMuchFaster() throws {
        let options = freshCache()
        defer { removeCache(options) }
        let source = "double nngen_test_twice(double x) { return 2 * x; }\n"
        let start = DispatchTime.now().uptimeNanoseconds
        let cold = try CCCompiler.build(source: source, name: "twice", options: options)
        let coldSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(!cold.cacheHit)
        let library = try #require(
            try FileManager.default.contentsOfDirectory(atPath: options.cacheDirectory)
                .first { $0.hasSuffix(".so") })
        let path = options.cacheDirectory + "/" + library
        let written = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date

        let again = DispatchTime.now().uptimeNanoseconds
        let warm = try CCCompiler.build(source: source, name: "twice", options: options)
        let warmSeconds = Double(DispatchTime.now().uptimeNanoseconds - again) / 1e9
        #expect(warm.cacheHit)
        #expect(warmSeconds * 5 < coldSeconds, "cached \(warmSeconds) s, cold \(coldSeconds) s")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date == written)
        let twice = unsafeBitCast(
            try #require(warm.library.symbol("nngen_test_twice")),
            to: (@convention(c) (Double) -> Double).self)
        #expect(twice(21) == 42)

        // Other flags or other source: another key, another build.
        var other = options
        other.flags = ["-O1"]
        #expect(!(try CCCompiler.build(source: source, name: "twice", options: other)).cacheHit)
        #expect(!(try CCCompiler.build(source: source + "\n", name: "twice", options: options)).cacheHit)
        #expect(CCCompiler.cached(source: source, name: "twice", options: options) != nil)
    }

    /// A compiler orphaned by a tiered run that exited can write its temporary output after the next build
    /// has cleaned the cache; a later start that hits the cache removes it (its writer no longer runs), and
    /// leaves the temporaries of running processes alone.
    @Test func cacheHitRemovesTheTemporariesOfDeadBuilds() throws {
        let options = freshCache()
        defer { removeCache(options) }
        let source = "int nngen_test_seven(void) { return 7; }\n"
        _ = try CCCompiler.build(source: source, name: "stale", options: options)
        let dead = options.cacheDirectory + "/.stale-0123.tmp-999999999-1"
        let alive = options.cacheDirectory + "/.stale-0123.tmp-\(getpid())-77"
        for path in [dead, alive] { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path)) }
        #expect(try CCCompiler.build(source: source, name: "stale", options: options).cacheHit)
        #expect(!FileManager.default.fileExists(atPath: dead), "the temporary of a process that no longer runs is removed")
        #expect(FileManager.default.fileExists(atPath: alive), "a running process's temporary stays")
    }

    @Test func secondModelStartCompilesNothing() throws {
        let options = freshCache()
        defer { removeCache(options) }
        let spec = "input x [2, 3]\naffine fc out=2\nloss softmax\noptimizer sgd lr=0.1\n"
        let graph = try ShapeInference.load(spec, path: "small.spec")
        let first = try CompiledModel(graph: graph, backend: .cc, cc: options)
        let files = try FileManager.default.contentsOfDirectory(atPath: options.cacheDirectory).sorted()
        #expect(CCCompiler.cached(source: first.source.singleUnit, name: first.source.modelName, options: options) != nil)
        // The second start writes nothing and only loads the library: much faster than compiling.
        let second = try CompiledModel(graph: graph, backend: .cc, cc: options)
        #expect(try FileManager.default.contentsOfDirectory(atPath: options.cacheDirectory).sorted() == files)
        #expect(second.compileSeconds * 5 < first.compileSeconds, "cached \(second.compileSeconds) s, cold \(first.compileSeconds) s")
    }

    @Test func corruptCachedLibraryIsRebuilt() throws {
        let options = freshCache()
        defer { removeCache(options) }
        let source = "int nngen_test_seven(void) { return 7; }\n"
        _ = try CCCompiler.build(source: source, name: "seven", options: options)
        let library = try #require(
            try FileManager.default.contentsOfDirectory(atPath: options.cacheDirectory)
                .first { $0.hasSuffix(".so") })
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: options.cacheDirectory + "/" + library))
        let rebuilt = try CCCompiler.build(source: source, name: "seven", options: options)
        #expect(!rebuilt.cacheHit)
        let seven = unsafeBitCast(
            try #require(rebuilt.library.symbol("nngen_test_seven")),
            to: (@convention(c) () -> Int32).self)
        #expect(seven() == 7)
    }

    /// `-march=native` builds learn the L1 data cache (it sizes the GEMMs' depth blocks); other targets do not.
    @Test func nativeBuildsPassTheL1DataCacheSize() throws {
        let native = CCCompiler.nativeDefines(CCOptions(flags: ["-O3", "-march=native"]))
        #expect(CCCompiler.nativeDefines(CCOptions(flags: ["-O3", "-march=x86-64-v3"])) == [])
        let size = try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/cache/index0/size", encoding: .utf8)
        let type = try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/cache/index0/type", encoding: .utf8)
        if let size, type?.hasPrefix("Data") == true, let kib = Int(size.filter(\.isNumber)), size.contains("K") {
            #expect(native == ["-DNNGEN_L1D_BYTES=\(kib * 1024)"])
        }
        #expect(native.count <= 1)
    }

    @Test func contentHashMatchesPublishedFNV1a128Vectors() {
        var empty = ContentHash()
        #expect(empty.hex == "6c62272e07bb014262b821756295c58d")
        var a = ContentHash()
        a.add(byte: UInt8(ascii: "a"))
        #expect(a.hex == "d228cb696f1a8caf78912b704e4a8964")
        empty.add("")
        #expect(empty.hex != "6c62272e07bb014262b821756295c58d")  // add(_:) ends each string with a 0 byte
    }

    // MARK: Errors

    @Test func failingCompilerIsADiagnostic() throws {
        let options = freshCache(compiler: "/bin/false")
        defer { removeCache(options) }
        let graph = try ShapeInference.load("input x [2, 3]\naffine fc out=2\nloss softmax\n", path: "small.spec")
        let error = #expect(throws: Diagnostic.self) { try CompiledModel(graph: graph, backend: .cc, cc: options) }
        #expect(error?.message.contains("'/bin/false' failed (exit status 1)") == true, "\(String(describing: error))")
        #expect(error?.hint?.contains("--backend tcc") == true)
    }

    @Test func missingCompilerNamesItAndSaysHowToInstallOne() {
        let options = freshCache(compiler: "nngen-no-such-compiler")
        let error = #expect(throws: Diagnostic.self) {
            try CCCompiler.build(source: "int f(void) { return 0; }", name: "f", options: options)
        }
        #expect(error?.message.contains("'nngen-no-such-compiler' not found") == true, "\(String(describing: error))")
        #expect(error?.hint?.contains("apt-get install gcc") == true)
    }

    @Test func compilerErrorCarriesLocationAndMessages() {
        let options = freshCache()
        defer { removeCache(options) }
        let error = #expect(throws: Diagnostic.self) {
            try CCCompiler.build(
                source: "#line 1 \"broken.c\"\nint f(void) {\n    return undeclared_name;\n}\n",
                name: "broken", options: options)
        }
        #expect(error?.location?.file == "broken.c")
        #expect(error?.location?.line == 2)
        #expect(error?.message.contains("undeclared_name") == true, "\(String(describing: error))")
    }

    @Test func unloadableLibraryIsADiagnostic() throws {
        let path = NSTemporaryDirectory() + "nngen-not-a-library-\(getpid()).so"
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let error = #expect(throws: Diagnostic.self) { try DynamicLibrary(path: path) }
        #expect(error?.message.contains("cannot load the compiled library") == true)
        #expect(error?.location?.file == path)
    }

    // MARK: Tiered

    static let tieredSpec = """
        input x [6, 5]
        dtype float64
        affine fc1 out=8
        batchnorm bn1
        relu
        affine fc2 out=4
        loss softmax
        optimizer sgd lr=0.1 momentum=0.9
        """

    /// Trains a model for `steps` steps on the synthetic batch; `between` runs before each step.
    private func train(_ model: CompiledModel, steps: Int, between: (Int) throws -> Void = { _ in }) throws -> [Double] {
        model.initialize(seed: 5)
        try Benchmark.stageSyntheticBatch(model)
        return try (0..<steps).map { step in
            try between(step)
            return try model.stagedTrainStep(learningRate: 0.1)
        }
    }

    @Test func tieredStartsOnTccSwitchesToCcAndMatchesAPureRun() throws {
        let options = freshCache()
        defer { removeCache(options) }
        let graph = try ShapeInference.load(Self.tieredSpec, path: "tiered.spec")
        let pure = try CompiledModel(graph: graph, backend: .tcc)
        let pureLosses = try train(pure, steps: 6)

        let tiered = try CompiledModel(graph: graph, backend: .tiered, cc: options)
        #expect(tiered.backend == .tcc)
        #expect(tiered.requestedBackend == .tiered)
        var seen: [BackendEvent] = []
        tiered.onBackendEvent = { seen.append($0) }
        let losses = try train(tiered, steps: 6) { step in
            if step == 2 { tiered.installBackgroundBuild(wait: true) }
        }
        #expect(tiered.backend == .cc)
        #expect(!tiered.isCompilingInBackground)
        #expect(seen.count == 1)
        guard case .switched(to: .cc, afterSteps: 2, _)? = tiered.backendEvents.first, tiered.backendEvents.count == 1 else {
            Issue.record("events: \(tiered.backendEvents)")
            return
        }
        #expect(seen.first?.description.hasPrefix("switched to cc after 2 steps (compile ") == true)
        expectIdentical(losses, pureLosses, "losses across the switch")
        expectIdentical(try snapshot(tiered), try snapshot(pure), "tiered vs tcc after 6 steps")
    }

    @Test func tieredInstallsTheBuildByItselfBetweenSteps() throws {
        let options = freshCache()
        defer { removeCache(options) }
        let graph = try ShapeInference.load(Self.tieredSpec, path: "tiered.spec")
        let tiered = try CompiledModel(graph: graph, backend: .tiered, cc: options)
        tiered.initialize(seed: 5)
        try Benchmark.stageSyntheticBatch(tiered)
        let deadline = Date().addingTimeInterval(120)
        while tiered.backend != .cc && Date() < deadline {
            _ = try tiered.stagedTrainStep(learningRate: 0.1)
            usleep(1000)
        }
        #expect(tiered.backend == .cc)
        guard case .switched(to: .cc, let steps, let seconds)? = tiered.backendEvents.first else {
            Issue.record("events: \(tiered.backendEvents)")
            return
        }
        #expect(steps >= 0 && steps < tiered.step)
        #expect(seconds > 0)
    }

    @Test func tieredKeepsRunningOnTccWhenTheCcBuildFails() throws {
        let options = freshCache(compiler: "/bin/false")
        defer { removeCache(options) }
        let graph = try ShapeInference.load(Self.tieredSpec, path: "tiered.spec")
        let pure = try CompiledModel(graph: graph, backend: .tcc)
        let pureLosses = try train(pure, steps: 4)
        let tiered = try CompiledModel(graph: graph, backend: .tiered, cc: options)
        let losses = try train(tiered, steps: 4) { step in
            if step == 1 { tiered.installBackgroundBuild(wait: true) }
        }
        #expect(tiered.backend == .tcc)
        #expect(tiered.backendEvents.count == 1)  // reported once
        guard case .compileFailed(.cc, let diagnostic)? = tiered.backendEvents.first else {
            Issue.record("events: \(tiered.backendEvents)")
            return
        }
        #expect(diagnostic.message.contains("/bin/false"))
        #expect(tiered.backendEvents.first?.description.hasPrefix("the cc build failed, staying on tcc: ") == true)
        expectIdentical(losses, pureLosses, "losses on tcc after the failed build")
    }

    @Test func tieredStartsOnCcWhenTheCacheHasIt() throws {
        let options = freshCache()
        defer { removeCache(options) }
        let graph = try ShapeInference.load(Self.tieredSpec, path: "tiered.spec")
        _ = try CompiledModel(graph: graph, backend: .cc, cc: options)
        let tiered = try CompiledModel(graph: graph, backend: .tiered, cc: options)
        #expect(tiered.backend == .cc)
        #expect(!tiered.isCompilingInBackground)
        guard case .startedFromCache(.cc, _)? = tiered.backendEvents.first else {
            Issue.record("events: \(tiered.backendEvents)")
            return
        }
    }
}
