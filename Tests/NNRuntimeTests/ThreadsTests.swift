// CompiledModel.threads: the optimized build runs on the requested number of threads, and the numbers do not depend on it.

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct ThreadsTests {
    /// bn1 is large enough (128 × 257 features) to run on the pool, in blocks of 64 channels and one of 1.
    static let spec = """
        input x [128, 300]
        affine fc1 out=257
        batchnorm bn1
        relu
        affine fc2 out=10
        loss softmax
        optimizer sgd lr=0.05 momentum=0.9
        """

    /// Three training steps on one fixed batch; returns every tensor afterwards.
    func train(threads: Int, backend: Backend, fma: Bool = false) throws -> (model: CompiledModel, tensors: [[Double]]) {
        var cache = CCOptions(cacheDirectory: NSTemporaryDirectory() + "nngen-threads-tests-\(getuid())")
        if fma { cache.flags = CCOptions.contracted(cache.flags) }
        let model = try CompiledModel(graph: try ShapeInference.load(Self.spec, path: "threads.spec"), backend: backend, cc: cache)
        model.threads = threads
        model.initialize(seed: 5)
        var rng = SplitMix64(seed: 9)
        let x = (0..<model.graph.inputShape.count).map { _ in rng.normal() }
        let y = (0..<model.graph.batch).map { Int32($0 % 10) }
        for _ in 0..<3 { try model.trainStep(input: x, target: .classes(y)) }
        return (model, try model.tensorNames.map { try model.tensor($0) })
    }

    @Test func ccBuildUsesTheRequestedThreadsAndGivesTheSameBits() throws {
        let one = try train(threads: 1, backend: .cc)
        let two = try train(threads: 2, backend: .cc)
        let tcc = try train(threads: 2, backend: .tcc)
        #expect(one.model.threadsInEffect == 1)
        #expect(two.model.threadsInEffect == 2)
        #expect(tcc.model.threadsInEffect == 1, "tcc builds have no thread pool")
        for (i, name) in one.model.tensorNames.enumerated() {
            #expect(one.tensors[i].map(\.bitPattern) == two.tensors[i].map(\.bitPattern), "\(name): 1 vs 2 threads")
            #expect(one.tensors[i].map(\.bitPattern) == tcc.tensors[i].map(\.bitPattern), "\(name): cc vs tcc")
        }
    }

    @Test func zeroMeansEveryCore() throws {
        let model = try train(threads: 0, backend: .cc).model
        #expect(
            model.threadsInEffect == ProcessInfo.processInfo.activeProcessorCount
                || ProcessInfo.processInfo.environment["NNGEN_THREADS"] != nil)
    }

    /// The opt-in FMA mode (`--fma`) is deterministic: the same bits on 1 and 2 threads and run to run. Where
    /// the CPU has FMA (`__FMA__` under -march=native) it computes other bits than the default build, so
    /// the contraction is really on.
    @Test func contractedBuildIsTheSameForEveryThreadCount() throws {
        let one = try train(threads: 1, backend: .cc, fma: true)
        let two = try train(threads: 2, backend: .cc, fma: true)
        let again = try train(threads: 2, backend: .cc, fma: true)
        for (i, name) in one.model.tensorNames.enumerated() {
            #expect(one.tensors[i].map(\.bitPattern) == two.tensors[i].map(\.bitPattern), "\(name): 1 vs 2 threads")
            #expect(two.tensors[i].map(\.bitPattern) == again.tensors[i].map(\.bitPattern), "\(name): run to run")
        }
        guard Self.nativeHasFMA() else { return }
        let plain = try train(threads: 1, backend: .cc)
        let weights = try #require(one.model.tensorNames.firstIndex(of: "fc1.weight"))
        #expect(one.tensors[weights].map(\.bitPattern) != plain.tensors[weights].map(\.bitPattern), "FMA changed nothing")
        let worst = zip(one.tensors[weights], plain.tensors[weights]).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-4, "FMA moved fc1.weight by \(worst) in 3 steps")
    }

    /// `nngen train --fma` without the cc backend is refused before any data loads or code compiles.
    @Test func fmaNeedsTheCCBackend() throws {
        let spec = InferenceBuildTests.root + "/examples/fashion_mlp.spec"
        let result = try HardeningTests.nngen(["train", spec, "--fma", "--epochs", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--fma needs --backend cc, got --backend tiered"), "\(result.stderr)")
    }

    /// True when `cc -march=native` defines __FMA__.
    static func nativeHasFMA() -> Bool {
        let empty = NSTemporaryDirectory() + "nngen-fma-probe-\(UUID().uuidString).c"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: empty) }
        return GeneratedCTests.run(["cc", "-march=native", "-dM", "-E", empty]).output.contains("#define __FMA__ 1")
    }
}
