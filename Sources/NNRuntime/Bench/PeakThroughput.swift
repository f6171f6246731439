// PeakThroughput: measures this core's floating-point peak with a tiny FMA kernel built by the cc backend.

import Foundation
import NNGen

/// The single-core peak in GFLOP/s for one dtype, measured or (when no compiler is available) taken from
/// the figure issue 5 states for this machine.
public struct PeakThroughput: Sendable {
    /// The best rate over the vector widths tried.
    public var gflops: Double
    /// `measured: FMA kernel, 512-bit vectors, 1 core` or `issue 5 figure, not measured (...)`.
    public var source: String
    /// The rate per vector width in bits (128, 256, 512), when measured.
    public var byWidth: [(bits: Int, gflops: Double)] = []

    /// The figure issue 5 measured on its machine (2-core Zen 4), float32, one core.
    public static let issueFigureFloat32 = 112.0

    /// Runs the FMA kernel for about `seconds` per vector width on the calling thread and keeps the best rate.
    ///
    /// The kernel keeps 12 independent accumulators (`a = a·b + c`, more than FMA latency × FMA units) in
    /// vector registers, compiled with `-ffp-contract=fast` so each line is one FMA: 2 FLOPs per lane.
    public static func measure(dtype: DType, cc: CCOptions = CCOptions(), seconds: Double = 0.1) -> PeakThroughput {
        let fallback = dtype == .float32 ? issueFigureFloat32 : issueFigureFloat32 / 2
        var options = cc
        // The same target ISA as the kernels measured against it (`nngen bench --march x86-64-v3`: the AVX2 peak).
        let march = cc.flags.first { $0.hasPrefix("-march=") } ?? "-march=native"
        options.flags = ["-O2", march, "-ffp-contract=fast"]
        let build: CCBuild
        do {
            build = try CCCompiler.build(source: kernelSource, name: "nngen_peak", options: options)
        } catch let diagnostic as Diagnostic {
            return PeakThroughput(gflops: fallback, source: "issue 5 figure, not measured (\(diagnostic.message.prefix(80)))")
        } catch {
            return PeakThroughput(gflops: fallback, source: "issue 5 figure, not measured")
        }
        typealias Kernel = @convention(c) (Int64) -> Double
        var best = (gflops: 0.0, bits: 0)
        var byWidth: [(bits: Int, gflops: Double)] = []
        for bits in [128, 256, 512] {
            let name = "nngen_peak_\(dtype == .float32 ? "f32" : "f64")_\(bits)"
            guard let address = build.library.symbol(name) else { continue }
            let kernel = unsafeBitCast(address, to: Kernel.self)
            let lanes = bits / (dtype == .float32 ? 32 : 64)
            let flopsPerIteration = Double(12 * lanes * 2)
            var iterations: Int64 = 1000
            var elapsed = 0.0
            // Grow the run until it takes long enough to time, then keep the best of three.
            while true {
                elapsed = time { _ = kernel(iterations) }
                if elapsed > seconds / 4 || iterations > 1 << 40 { break }
                iterations *= 4
            }
            for _ in 0..<3 { elapsed = min(elapsed, time { _ = kernel(iterations) }) }
            let gflops = Double(iterations) * flopsPerIteration / elapsed / 1e9
            byWidth.append((bits, gflops))
            if gflops > best.gflops { best = (gflops, bits) }
        }
        guard best.gflops > 0 else { return PeakThroughput(gflops: fallback, source: "issue 5 figure, not measured") }
        return PeakThroughput(
            gflops: best.gflops, source: "measured: FMA kernel, \(best.bits)-bit vectors, 1 core",
            byWidth: byWidth)
    }

    static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// `double nngen_peak_<t>_<bits>(int64_t iterations)`: 12 chains of `a = a·b + c` on vectors.
    static let kernelSource: String = {
        var text = "/* nngen peak: floating-point throughput of one core (12 independent FMA chains). */\n#include <stdint.h>\n"
        for (type, suffix) in [("float", "f32"), ("double", "f64")] {
            for bits in [128, 256, 512] {
                let vector = "v_\(suffix)_\(bits)"
                let chains = (0..<12).map { "a\($0)" }
                text += """
                    typedef \(type) \(vector) __attribute__((vector_size(\(bits / 8))));
                    double nngen_peak_\(suffix)_\(bits)(int64_t iterations) {
                        \(vector) \(chains.enumerated().map { "\($1) = (\(vector)){} + (\(type))\(Double($0 + 1) * 0.01)" }.joined(separator: ", "));
                        const \(vector) b = (\(vector)){} + (\(type))0.999999, c = (\(vector)){} + (\(type))1e-6;
                        for (int64_t i = 0; i < iterations; i++) {
                    \(chains.map { "        \($0) = \($0) * b + c;" }.joined(separator: "\n"))
                        }
                        \(vector) s = \(chains.joined(separator: " + "));
                        double total = 0;
                        for (unsigned k = 0; k < sizeof s / sizeof s[0]; k++) total += s[k];
                        return total;
                    }

                    """
            }
        }
        return text
    }()
}
