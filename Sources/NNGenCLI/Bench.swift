// nngen bench: compile time, training steps/s, GFLOP/s, % of peak and per-layer kernel times per backend.

import ArgumentParser
import Foundation
import NNGen
import NNGenReports
import NNRuntime

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time a spec's training step on synthetic data with each backend (a benchmark, not a test).",
        discussion: """
            Prints, per backend: compile time (cc: into an empty cache, then loaded from it), time from model \
            construction to the first finished step, training steps/s (median and min–max over the repeats), \
            GFLOP/s and % of this core's peak (measured with a small FMA kernel), and per-layer forward and \
            backward kernel times. FLOPs per step: forward + 2 × forward for backward, except the first \
            layer's input gradient, which is not computed.
            """)

    @Argument(help: "The model spec (it needs an optimizer).") var spec: String
    @Option(name: .customLong("backend"), help: "tcc, cc or tiered; repeat to compare (default: tcc and cc).")
    var backends: [Backend] = []
    @Option(help: "Training steps per timed repeat (default: as many as take about 0.5 s).") var steps: Int?
    @Option(help: "Untimed training steps before timing.") var warmup: Int = 2
    @Option(help: "Timed repeats (steps/s is their median; each layer kernel is timed this often).") var repeats: Int = 5
    @Option(help: "Threads of the optimized kernels (default 0: every core; tcc always runs on one).") var threads: Int = 0
    @Flag(help: "Only build, run one training step and print the time since process start, then exit.")
    var firstStep = false
    @Option(
        help: ArgumentHelp(
            "The cc build's target ISA: native (default), x86-64-v3 (AVX2 + FMA, 16 vector registers), x86-64-v4 (AVX-512), or any gcc -march value; the cc flags become -O3 -march=ISA -ffp-contract=off (NNGEN_CFLAGS is ignored).",
            valueName: "ISA"))
    var march: String?
    @Flag(
        help:
            "Opt-in contracted mode: the cc build with -ffp-contract=fast (multiply-adds fused outside the GEMMs too) instead of -ffp-contract=off."
    )
    var fma = false

    func run() throws {
        try reportingErrors {
            let graph = try loadGraph(spec)
            if firstStep {
                let backend = backends.first ?? .tcc
                let model = try CompiledModel(graph: graph, backend: backend)
                model.initialize(seed: 1)
                try Benchmark.stageSyntheticBatch(model)
                _ = try model.stagedTrainStep(learningRate: graph.optimizer?.instance.learningRate ?? 0)
                let since = ProcessClock.secondsSinceStart().map { String(format: "%.0f ms", $0 * 1000) } ?? "unknown"
                print(
                    "first training step (\(model.backend.rawValue), compile \(String(format: "%.1f ms", model.compileSeconds * 1000))) finished \(since) after process start (±10 ms)"
                )
                return
            }
            guard threads >= 0 else { throw Diagnostic("--threads must be 0 (every core) or more, got \(threads)") }
            var options = BenchmarkOptions(steps: steps, warmup: warmup, repeats: repeats, threads: threads)
            if let march {
                guard !march.isEmpty, march.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                    throw Diagnostic("--march '\(march)' is not an ISA name", hint: "e.g. --march x86-64-v3 (AVX2) or --march native")
                }
                options.cc.flags = ["-O3", "-march=\(march)", "-ffp-contract=off"]
            }
            if fma { options.cc.flags = CCOptions.contracted(options.cc.flags) }
            if march != nil || fma { print("cc flags: \(options.cc.flags.joined(separator: " "))") }
            let peak = PeakThroughput.measure(dtype: graph.dtype, cc: options.cc)
            var measurements: [BackendMeasurement] = []
            for backend in backends.isEmpty ? [.tcc, .cc] : backends {
                measurements.append(try Benchmark.measure(graph: graph, backend: backend, options: options))
            }
            print(Benchmark.report(graph: graph, peak: peak, measurements: measurements, options: options))
        }
    }
}
