// CompiledModel.threads: the optimized build runs on the requested number of threads, and the numbers do not depend on it.

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct ThreadsTests {
    static let spec = """
        input x [64, 300]
        affine fc1 out=257
        batchnorm bn1
        relu
        affine fc2 out=10
        loss softmax
        optimizer sgd lr=0.05 momentum=0.9
        """

    /// Three training steps on one fixed batch; returns every tensor afterwards.
    func train(threads: Int, backend: Backend) throws -> (model: CompiledModel, tensors: [[Double]]) {
        let cache = CCOptions(cacheDirectory: NSTemporaryDirectory() + "nngen-threads-tests-\(getuid())")
        let model = try CompiledModel(graph: try ShapeInference.load(Self.spec, path: "threads.spec"), backend: backend, cc: cache)
        model.threads = threads
        model.initialize(seed: 5)
        var rng = SplitMix64(seed: 9)
        let x = (0..<model.graph.inputShape.count).map { _ in rng.normal() }
        let y = (0..<64).map { Int32($0 % 10) }
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
}
