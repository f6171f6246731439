// LossCurve: the loss and accuracy of a training run as an SVG picture — two panels over epochs — that
// any browser or image viewer opens.

import Foundation
import NNRuntime

/// Draws a `TrainingHistory` as SVG: on the left the loss (the running training loss along the way, the
/// test loss after each epoch), on the right the accuracy (training and test, after each epoch).
public enum LossCurve {
    static let width = 960.0, height = 420.0
    static let trainColor = "#1f77b4", testColor = "#ff7f0e"

    /// The SVG document. `title` heads the picture.
    public static func svg(_ history: TrainingHistory, title: String) -> String {
        let epochs = max(1, history.epochs.last?.epoch ?? 0, Int((history.losses.last?.epoch ?? 0).rounded(.up)))
        var lossValues = history.losses.map(\.loss) + history.epochs.map(\.trainLoss)
        lossValues += history.epochs.compactMap(\.testLoss)
        let accuracyValues = (history.epochs.map(\.trainAccuracy) + history.epochs.compactMap(\.testAccuracy)).map { 100 * $0 }

        var body = ""
        // Loss panel.
        let lossTop = niceCeiling(lossValues.filter(\.isFinite).max() ?? 1)
        let loss = Panel(x: 70, y: 60, width: 370, height: 290, xMax: Double(epochs), yMin: 0, yMax: lossTop)
        body += loss.frame(title: "loss", xLabel: "epoch", yLabel: "loss")
        body += loss.polyline(history.losses.map { ($0.epoch, $0.loss) }, color: trainColor, width: 1.5)
        body += loss.markers(history.epochs.map { (Double($0.epoch), $0.trainLoss) }, color: trainColor)
        let testLoss = history.epochs.compactMap { record in record.testLoss.map { (Double(record.epoch), $0) } }
        body += loss.polyline(testLoss, color: testColor, width: 2)
        body += loss.markers(testLoss, color: testColor)
        body += loss.legend([
            ("train (running)", trainColor, false), ("train (epoch mean)", trainColor, true),
            ("test (after each epoch)", testColor, false),
        ])

        // Accuracy panel.
        let low = accuracyValues.filter(\.isFinite).min() ?? 0
        let floor = max(0, (low / 5).rounded(.down) * 5 - 5)
        let accuracy = Panel(x: 560, y: 60, width: 370, height: 290, xMax: Double(epochs), yMin: floor, yMax: 100)
        body += accuracy.frame(title: "accuracy (%)", xLabel: "epoch", yLabel: "accuracy %")
        let trainAccuracy = history.epochs.map { (Double($0.epoch), 100 * $0.trainAccuracy) }
        let testAccuracy = history.epochs.compactMap { record in record.testAccuracy.map { (Double(record.epoch), 100 * $0) } }
        body += accuracy.polyline(trainAccuracy, color: trainColor, width: 2)
        body += accuracy.markers(trainAccuracy, color: trainColor)
        body += accuracy.polyline(testAccuracy, color: testColor, width: 2)
        body += accuracy.markers(testAccuracy, color: testColor)
        body += accuracy.legend([("train (during the epoch)", trainColor, false), ("test", testColor, false)], bottom: true)
        if let last = testAccuracy.last {
            body += accuracy.label(String(format: "%.2f%%", last.1), at: last, color: testColor)
        }

        var heading = title
        if let last = history.epochs.last {
            heading += " — epoch \(last.epoch)"
            if let test = last.testAccuracy { heading += String(format: ", test accuracy %.2f%%", 100 * test) }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="28" text-anchor="middle" font-size="16" font-weight="bold">\(escape(heading))</text>
            \(body)</svg>

            """
    }

    /// The smallest 1, 2 or 5 × 10^k at or above `value` (1 for non-positive values).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let magnitude = pow(10, (log10(value)).rounded(.down))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }

    /// A tick spacing giving about five ticks over `range`: 1, 2 or 5 × 10^k.
    static func tickStep(_ range: Double) -> Double {
        guard range > 0, range.isFinite else { return 1 }
        let raw = range / 5
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for factor in [1.0, 2, 5] where factor * magnitude >= raw { return factor * magnitude }
        return 10 * magnitude
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// One plotting area and its data-to-pixel mapping.
    struct Panel {
        var x, y, width, height, xMax, yMin, yMax: Double

        func px(_ value: Double) -> Double { x + width * min(max(value / xMax, 0), 1) }
        func py(_ value: Double) -> Double { y + height * (1 - min(max((value - yMin) / (yMax - yMin), 0), 1)) }

        func frame(title: String, xLabel: String, yLabel: String) -> String {
            var out = "<g>\n"
            out += "<text x=\(q(x + width / 2)) y=\(q(y - 10)) text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>\n"
            let yStep = tickStep(yMax - yMin)
            var tick = (yMin / yStep).rounded(.up) * yStep
            while tick <= yMax + yStep * 1e-9 {
                out += "<line x1=\(q(x)) y1=\(q(py(tick))) x2=\(q(x + width)) y2=\(q(py(tick))) stroke=\"#e5e5e5\"/>\n"
                out +=
                    "<text x=\(q(x - 6)) y=\(q(py(tick) + 4)) text-anchor=\"end\">\(String(format: yStep < 0.1 ? "%.2f" : yStep < 1 ? "%.1f" : "%.0f", tick))</text>\n"
                tick += yStep
            }
            let xStep = max(1, tickStep(xMax).rounded())
            var epoch = 0.0
            while epoch <= xMax + 1e-9 {
                out += "<line x1=\(q(px(epoch))) y1=\(q(y + height)) x2=\(q(px(epoch))) y2=\(q(y + height + 5)) stroke=\"black\"/>\n"
                out += "<text x=\(q(px(epoch))) y=\(q(y + height + 18)) text-anchor=\"middle\">\(Int(epoch))</text>\n"
                epoch += xStep
            }
            out += "<rect x=\(q(x)) y=\(q(y)) width=\(q(width)) height=\(q(height)) fill=\"none\" stroke=\"black\"/>\n"
            out += "<text x=\(q(x + width / 2)) y=\(q(y + height + 36)) text-anchor=\"middle\">\(escape(xLabel))</text>\n"
            out +=
                "<text transform=\"translate(\(format(x - 48)),\(format(y + height / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
            return out + "</g>\n"
        }

        func polyline(_ points: [(Double, Double)], color: String, width: Double) -> String {
            let finite = points.filter { $0.0.isFinite && $0.1.isFinite }
            guard finite.count >= 2 else { return "" }
            let coordinates = finite.map { "\(format(px($0.0))),\(format(py($0.1)))" }.joined(separator: " ")
            return
                "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\" stroke-linejoin=\"round\"/>\n"
        }

        func markers(_ points: [(Double, Double)], color: String) -> String {
            points.filter { $0.0.isFinite && $0.1.isFinite }.map {
                "<circle cx=\(q(px($0.0))) cy=\(q(py($0.1))) r=\"3.5\" fill=\"white\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }.joined()
        }

        func label(_ text: String, at point: (Double, Double), color: String) -> String {
            "<text x=\(q(px(point.0) - 6)) y=\(q(py(point.1) - 10)) text-anchor=\"end\" fill=\"\(color)\" font-weight=\"bold\">\(escape(text))</text>\n"
        }

        /// Legend rows of (name, color, drawn as a marker rather than a line).
        func legend(_ entries: [(String, String, Bool)], bottom: Bool = false) -> String {
            var out = ""
            let top = bottom ? y + height - 12 - 18 * Double(entries.count - 1) : y + 16
            for (index, (name, color, marker)) in entries.enumerated() {
                let row = top + 18 * Double(index)
                if marker {
                    out +=
                        "<circle cx=\(q(x + width - 178)) cy=\(q(row - 4)) r=\"3.5\" fill=\"white\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                } else {
                    out +=
                        "<line x1=\(q(x + width - 190)) y1=\(q(row - 4)) x2=\(q(x + width - 166)) y2=\(q(row - 4)) stroke=\"\(color)\" stroke-width=\"2.5\"/>\n"
                }
                out += "<text x=\(q(x + width - 160)) y=\(q(row))>\(escape(name))</text>\n"
            }
            return out
        }

        func q(_ value: Double) -> String { "\"\(format(value))\"" }
    }
}
