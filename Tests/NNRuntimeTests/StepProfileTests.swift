// The profiled training step of `nngen bench` (every kernel call timed from Swift) must train exactly as the
// generated train_step does, or its split of the step into kernel time and time between kernels would be of
// another computation.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct StepProfileTests {
    /// Five plain steps on one model and five profiled steps on a twin: the same memory, bit for bit
    /// (parameters, gradients, optimizer state, activations), for a graph with a skip connection, concat,
    /// a tensor read three times, dropout and batchnorm, and for a chain; on tcc and cc.
    @Test(arguments: [Backend.tcc, Backend.cc], ["residual", "fashion_mlp"])
    func profiledStepsTrainAsTheGeneratedStep(backend: Backend, name: String) throws {
        let graph =
            name == "residual"
            ? try ShapeInference.load(InferenceBuildTests.residual, path: "resinf.spec")
            : try ShapeInference.load(
                try readSpec(InferenceBuildTests.root + "/examples/\(name).spec"), path: "\(name).spec")
        let plain = try CompiledModel(graph: graph, backend: backend)
        let profiled = try CompiledModel(graph: graph, backend: backend)
        let learningRate = graph.optimizer?.instance.learningRate ?? 0
        var seconds = [Double](repeating: 0, count: 2 * graph.layers.count + 2)
        for model in [plain, profiled] {
            model.initialize(seed: 3)
            try Benchmark.stageSyntheticBatch(model)
        }
        for _ in 0..<5 {
            let a = try plain.stagedTrainStep(learningRate: learningRate)
            let b = try profiled.profiledTrainStep(learningRate: learningRate, seconds: &seconds)
            #expect(a.bitPattern == b.bitPattern, "loss \(a) vs \(b)")
        }
        let bytes = plain.plan.total * graph.dtype.byteSize
        #expect(memcmp(plain.memory, profiled.memory, bytes) == 0, "the memory of the two models differs")
        // A fused activation's kernels are not called (its producer's fused kernels are): its entries stay 0.
        let skipped = Set(plain.plan.fusions.flatMap { [2 * $0.activation, 2 * $0.activation + 1] })
        #expect(name != "fashion_mlp" || skipped.count == 4, "fashion_mlp's two batchnorm + relu pairs are fused")
        for (entry, value) in seconds.enumerated() {
            #expect(skipped.contains(entry) ? value == 0 : value > 0, "kernel call \(entry) timed \(value) s: \(seconds)")
        }
    }

    /// `nngen bench` prints the split, and the kernels inside the step add up to about the step.
    @Test func benchmarkReportsTimeOutsideKernels() throws {
        let graph = try ShapeInference.load(InferenceBuildTests.residual, path: "resinf.spec")
        let options = BenchmarkOptions(steps: 3, warmup: 1, repeats: 3)
        let measurement = try Benchmark.measure(graph: graph, backend: .tcc, options: options)
        let profile = try #require(measurement.profile)
        #expect(profile.forwardSeconds.count == graph.layers.count && profile.backwardSeconds.count == graph.layers.count)
        #expect(profile.stepSeconds > 0 && profile.kernelSeconds > 0)
        // Kernel calls are almost all of a step (tcc's kernels are slow, the step is only their calls).
        #expect(abs(profile.outsideSeconds) < 0.5 * profile.stepSeconds, "\(profile)")
    }
}
