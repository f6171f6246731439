// BenchmarkReport: the text `nngen bench` prints — one table of backends, one of per-layer kernel times.

import Foundation
import NNGen
import NNRuntime

extension Benchmark {
    /// Renders the measurements of one model as aligned text tables.
    public static func report(
        graph: ShapedGraph, peak: PeakThroughput, measurements: [BackendMeasurement],
        options: BenchmarkOptions
    ) -> String {
        var lines: [String] = []
        let stepFLOPs = trainingStepFLOPs(graph)
        lines.append(
            "model \(graph.modelName) (\(graph.file)): \(graph.dtype.rawValue), input \(graph.inputName) \(graph.inputShape), \(graph.layers.count) layers"
        )
        lines.append(
            "training step: \(format(Double(stepFLOPs) / 1e6, 1)) MFLOP of useful work = forward + backward (2 × forward, "
                + "but 1 × for the first layer: no input gradient); the update is not counted")
        let widths = peak.byWidth.map { "\($0.bits)-bit \(format($0.gflops, 1))" }.joined(separator: ", ")
        lines.append(
            "peak: \(format(peak.gflops, 1)) GFLOP/s \(graph.dtype.rawValue) (\(peak.source))"
                + (widths.isEmpty ? "" : "; by vector width: \(widths)"))
        let steps = measurements.map {
            "\($0.stepsPerRepeat) (\($0.measuredBackend.rawValue), \($0.threads) thread\($0.threads == 1 ? "" : "s"))"
        }
        .joined(separator: ", ")
        lines.append(
            "timing: \(options.repeats) repeats of \(steps) training steps after \(options.warmup) warm-up steps; "
                + "one fixed synthetic batch")
        lines.append("")

        var table: [[String]] = [["backend", "compile", "cached", "first step", "steps/s median", "min–max", "GFLOP/s", "% peak"]]
        for m in measurements {
            let label = m.backend == m.measuredBackend ? m.backend.rawValue : "\(m.backend.rawValue)→\(m.measuredBackend.rawValue)"
            table.append([
                label, milliseconds(m.compileSeconds), m.cachedSeconds.map(milliseconds) ?? "–",
                milliseconds(m.firstStepSeconds), format(m.medianStepsPerSecond, 1),
                "\(format(m.stepsPerSecond.min() ?? 0, 1))–\(format(m.stepsPerSecond.max() ?? 0, 1))",
                format(m.gflops, 2), format(100 * m.gflops / peak.gflops, 1) + "%",
            ])
        }
        lines += align(table, rightFrom: 1)
        lines.append(
            "steps/s median: "
                + measurements.map { "\($0.measuredBackend.rawValue)=\(format($0.medianStepsPerSecond, 1))" }
                .joined(separator: ", "))
        for m in measurements where !m.events.isEmpty {
            for event in m.events { lines.append("\(m.backend.rawValue): \(event)") }
        }

        guard let first = measurements.first else { return lines.joined(separator: "\n") }
        lines.append("")
        lines.append(
            "per-layer kernel time, ms: alone (median of \(options.repeats) calls of the kernel by itself), "
                + "and in the step (per training step, median of \(options.repeats) rounds of profiled steps):")
        var header = ["layer", "kind", "fwd MFLOP"]
        for m in measurements {
            let name = m.measuredBackend.rawValue
            header += ["\(name) fwd", "\(name) bwd", "in step fwd", "in step bwd"]
        }
        var rows = [header]
        let fusions = ActivationFusion.find(in: graph)
        for (index, layer) in first.layers.enumerated() {
            var row = [layer.name, layer.kind, format(Double(layer.forwardFLOPs) / 1e6, 2)]
            if let fusion = fusions.first(where: { $0.activation == index }) {
                // Its kernels are not called: the producer's fused kernels apply it (timed on that row).
                let cell = "in \(graph.layers[fusion.producer].name)"
                row += [String](repeating: cell, count: 4 * measurements.count)
                rows.append(row)
                continue
            }
            for m in measurements {
                row += [
                    milliseconds(m.layers[index].forwardSeconds, unit: false),
                    milliseconds(m.layers[index].backwardSeconds, unit: false),
                    m.profile.map { milliseconds($0.forwardSeconds[index], unit: false) } ?? "–",
                    m.profile.map { milliseconds($0.backwardSeconds[index], unit: false) } ?? "–",
                ]
            }
            rows.append(row)
        }
        var loss = ["loss", graph.loss.definition.keyword, ""]
        var update = ["update", graph.optimizer?.definition.keyword ?? "–", ""]
        for m in measurements {
            loss += ["", "", m.profile.map { milliseconds($0.lossSeconds, unit: false) } ?? "–", ""]
            update += [
                m.updateSeconds.map { milliseconds($0, unit: false) } ?? "–", "",
                m.profile.map { milliseconds($0.updateSeconds, unit: false) } ?? "–", "",
            ]
        }
        rows += [loss, update]
        lines += align(rows, rightFrom: 2)
        for m in measurements {
            guard let profile = m.profile, profile.stepSeconds > 0 else { continue }
            let alone = m.layers.reduce(0) { $0 + $1.forwardSeconds + $1.backwardSeconds } + (m.updateSeconds ?? 0)
            let share = 100 * profile.outsideSeconds / profile.stepSeconds
            lines.append(
                "\(m.measuredBackend.rawValue): outside kernels \(milliseconds(profile.outsideSeconds)) of a "
                    + "\(milliseconds(profile.stepSeconds)) step (\(format(share, 1))%): the step minus every kernel call "
                    + "timed inside it; the kernels took \(milliseconds(profile.kernelSeconds)) in the step, "
                    + "\(milliseconds(alone)) timed alone (without the loss)")
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

    static func milliseconds(_ seconds: Double) -> String { milliseconds(seconds, unit: true) }

    static func milliseconds(_ seconds: Double, unit: Bool) -> String {
        let ms = seconds * 1000
        let text = ms < 10 ? format(ms, 3) : ms < 100 ? format(ms, 2) : format(ms, 1)
        return unit ? text + " ms" : text
    }

    /// Pads columns; columns from `rightFrom` on are right-aligned.
    static func align(_ rows: [[String]], rightFrom: Int) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c >= rightFrom ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
