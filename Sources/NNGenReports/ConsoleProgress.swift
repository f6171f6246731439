// ConsoleProgress: shows a training run to a person — a progress bar redrawn in place on a terminal,
// plain log lines otherwise (a file, a pipe, CI) — and one summary line per epoch.

import Foundation
import NNGen
import NNRuntime

/// Renders `TrainingEvent`s as text. On a terminal: one progress bar line (epoch, step, running loss and
/// accuracy, samples/s, ETA of the run's training steps) redrawn at most ten times a second. Otherwise: a log line every tenth of an
/// epoch. Either way, a summary line after every epoch.
public final class ConsoleProgress {
    /// Draw a bar in place (`\r`) rather than log lines.
    public let isTerminal: Bool
    private let write: (String) -> Void
    private var lastDraw: UInt64 = 0
    /// Whether the bar is on screen (so the next message must clear it first).
    private var barShown = false

    /// `write` receives finished text (with its newlines); the default writes it to standard output
    /// unbuffered. `isTerminal` defaults to whether standard output is a terminal.
    public init(isTerminal: Bool = isatty(1) != 0, write: ((String) -> Void)? = nil) {
        self.isTerminal = isTerminal
        self.write = write ?? { text in FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    /// Prints one line (clearing the progress bar first).
    public func line(_ text: String) {
        write(clearBar() + text + "\n")
    }

    public func handle(_ event: TrainingEvent) {
        switch event {
        case .started(let plan):
            let perStep = plan.ranks > 1 ? "\(plan.ranks) ranks × \(plan.batch)" : "\(plan.batch)"
            var text = "training \(plan.modelName): \(plan.trainingSamples) samples, \(plan.stepsPerEpoch) steps of \(perStep) per epoch"
            if plan.droppedPerEpoch > 0 {
                text += " (the last \(plan.droppedPerEpoch) samples of each shuffled epoch are left out)"
            }
            text +=
                plan.testSamples.map { "; testing on \($0) samples" }
                ?? (plan.testSetLoading ? "; the test set loads in the background" : "; no test set")
            text += "; seed \(plan.seed)"
            if plan.startEpoch > 0 { text += "; resuming after epoch \(plan.startEpoch)" }
            line(text)
        case .step(let progress):
            step(progress)
        case .firstStepFinished(let seconds):
            if let seconds { line("first step finished after \(Int((seconds * 1000).rounded())) ms (since process start)") }
        case .evaluating(let epoch):
            if isTerminal {
                write(clearBar() + "epoch \(epoch): evaluating the test set…")
                barShown = true
            }
        case .epochFinished(let record):
            line(Self.summary(record))
        case .checkpointSaved:
            break  // the epoch summary follows; saving every epoch is announced once by the caller
        case .note(let text):
            line("note: " + text)
        }
    }

    /// `epoch 3  train loss 0.3012 acc 89.10%  test loss 0.3321 acc 88.02%  lr 0.05  12.3 s (9876 samples/s)`
    public static func summary(_ record: EpochRecord) -> String {
        var text = "epoch \(record.epoch)  train loss \(fixed(record.trainLoss, 4)) acc \(percent(record.trainAccuracy))"
        if let loss = record.testLoss, let accuracy = record.testAccuracy {
            text += "  test loss \(fixed(loss, 4)) acc \(percent(accuracy))"
        }
        text +=
            "  lr \(shortNumber(record.learningRate))  \(fixed(record.seconds, 1)) s (\(Int(record.samplesPerSecond.rounded())) samples/s)"
        return text
    }

    private func step(_ progress: StepProgress) {
        let now = DispatchTime.now().uptimeNanoseconds
        let last = progress.stepInEpoch == progress.stepsPerEpoch
        // Training time left in the run (evaluation not included), at this epoch's pace.
        let stepsLeft = (progress.epochs - progress.epoch) * progress.stepsPerEpoch + progress.stepsPerEpoch - progress.stepInEpoch
        let remaining = Double(stepsLeft) * progress.elapsed / Double(progress.stepInEpoch)
        if isTerminal {
            guard last || now - lastDraw >= 100_000_000 else { return }
            lastDraw = now
            let width = 24
            let filled = width * progress.stepInEpoch / progress.stepsPerEpoch
            let bar =
                String(repeating: "=", count: filled) + (filled < width ? ">" + String(repeating: ".", count: width - filled - 1) : "")
            write(
                "\r\u{1B}[2K" + "epoch \(progress.epoch)/\(progress.epochs) [\(bar)] \(progress.stepInEpoch)/\(progress.stepsPerEpoch)"
                    + "  loss \(Self.fixed(progress.loss, 4))  acc \(Self.percent(progress.accuracy))"
                    + "  \(Int(progress.samplesPerSecond.rounded())) samples/s  ETA \(Self.clock(remaining))")
            barShown = true
        } else {
            let every = max(1, progress.stepsPerEpoch / 10)
            guard progress.stepInEpoch % every == 0, !last else { return }
            line(
                "epoch \(progress.epoch)/\(progress.epochs) step \(progress.stepInEpoch)/\(progress.stepsPerEpoch) (global \(progress.step))"
                    + "  loss \(Self.fixed(progress.loss, 4))  acc \(Self.percent(progress.accuracy))  lr \(Self.shortNumber(progress.learningRate))"
                    + "  \(Int(progress.samplesPerSecond.rounded())) samples/s  ETA \(Self.clock(remaining))")
        }
    }

    private func clearBar() -> String {
        guard barShown else { return "" }
        barShown = false
        return "\r\u{1B}[2K"
    }

    static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
    static func percent(_ fraction: Double) -> String { String(format: "%.2f%%", 100 * fraction) }
    /// `0.05`, `0.0001234`: up to 4 significant digits.
    static func shortNumber(_ value: Double) -> String { String(format: "%.4g", value) }
    /// `0:42`, `12:05`, `1:02:03`.
    static func clock(_ seconds: Double) -> String {
        let total = seconds.isFinite ? Int(seconds.rounded()) : 0
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }
}
