// What a training run writes for people: metrics files (CSV, JSON lines), the SVG curve, and the
// console output on a terminal and in a log.

import Foundation
import NNGen
import Testing

@testable import NNGenReports
@testable import NNRuntime

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite struct MetricsTests {
    static let first = EpochRecord(
        epoch: 1, step: 468, learningRate: 0.05, trainLoss: 0.5, trainAccuracy: 0.82,
        testLoss: 0.42, testAccuracy: 0.85, seconds: 12.5, samplesPerSecond: 4800)
    static let second = EpochRecord(
        epoch: 2, step: 936, learningRate: 0.025, trainLoss: 0.35, trainAccuracy: 0.875,
        testLoss: nil, testAccuracy: nil, seconds: 11, samplesPerSecond: 5100)

    @Test func csvGetsAHeaderThenOneRowPerEpoch() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/metrics.csv"
        try MetricsLog(path: path).append(Self.first)
        try MetricsLog(path: path).append(Self.second)  // a second run (a resume) appends
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines == [
                "epoch,step,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds,samples_per_second",
                "1,468,0.05,0.5,0.82,0.42,0.85,12.5,4800.0",
                "2,936,0.025,0.35,0.875,,,11.0,5100.0",
                "",
            ])
    }

    @Test func jsonLinesAreJSONObjects() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/metrics.jsonl"
        let log = try MetricsLog(path: path)
        try log.append(Self.first)
        try log.append(Self.second)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects[0]["epoch"] as? Int == 1)
        #expect(objects[0]["test_accuracy"] as? Double == 0.85)
        #expect(objects[1]["lr"] as? Double == 0.025)
        #expect(objects[1]["test_loss"] is NSNull)
        #expect(Set(objects[0].keys) == Set(MetricsLog.columns))
    }

    @Test func badMetricsPathsAreRefusedBeforeTraining() throws {
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(thrownDiagnostic { _ = try MetricsLog(path: directory + "/metrics.txt") }?.hint == "name the file .csv or .jsonl")
        #expect(
            thrownDiagnostic { _ = try MetricsLog(path: directory + "/no/such/metrics.csv") }?.message.contains("does not exist") == true)
        let other = directory + "/other.csv"
        try "a,b,c\n1,2,3\n".write(toFile: other, atomically: true, encoding: .utf8)
        #expect(thrownDiagnostic { _ = try MetricsLog(path: other) }?.message == "the file exists with other columns: 'a,b,c'")
    }

    @Test func curveIsAnSVGDocumentWithBothPanels() throws {
        let history = TrainingHistory(
            epochs: [
                Self.first,
                {
                    var r = Self.second
                    r.testLoss = 0.38
                    r.testAccuracy = 0.87
                    return r
                }(),
            ],
            losses: (1...40).map { LossPoint(epoch: Double($0) / 20, loss: 2 / Double($0)) })
        let svg = LossCurve.svg(history, title: "nngen train <toy> & co")
        #expect(svg.hasPrefix("<?xml"))
        #expect(svg.contains("test accuracy 87.00%"))
        #expect(svg.contains("&lt;toy&gt; &amp; co"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4, "running loss, test loss, train and test accuracy")
        #if canImport(FoundationXML) || os(macOS)
            let document = try XMLDocument(data: Data(svg.utf8))
            #expect(document.rootElement()?.name == "svg")
            #expect(try document.nodes(forXPath: "//*[local-name()='circle']").count == 9, "8 data markers and one in the legend")
        #endif
        // An empty history (no epoch finished yet) still draws.
        #expect(LossCurve.svg(TrainingHistory(), title: "empty").contains("</svg>"))
    }

    @Test func niceAxisLimits() {
        #expect(LossCurve.niceCeiling(2.3) == 2.5)
        #expect(LossCurve.niceCeiling(0.7) == 1)
        #expect(LossCurve.niceCeiling(0.42) == 0.5)
        #expect(LossCurve.tickStep(2.5) == 0.5)
        #expect(LossCurve.tickStep(15) == 5)
    }

    @Test func consoleShowsLogLinesOffATerminal() throws {
        var text = ""
        let console = ConsoleProgress(isTerminal: false) { text += $0 }
        let trainer = try Trainer(
            model: try Toy.model(), trainingSet: Toy.trainingSet, testSet: Toy.testSet, options: TrainingOptions(epochs: 2))
        trainer.onEvent = console.handle
        try trainer.run()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(!text.contains("\r"))
        #expect(lines.first == "training toy: 240 samples, 30 steps of 8 per epoch; testing on 61 samples; seed 0")
        #expect(lines.filter { $0.hasPrefix("epoch 1/2 step ") }.count == 9, "a line every tenth of an epoch (3 steps), not at its end")
        #expect(lines.contains { $0.hasPrefix("epoch 1/2 step 3/30 (global 3)  loss ") && $0.contains("samples/s  ETA ") })
        let summaries = lines.filter { $0.hasPrefix("epoch 1  train loss") || $0.hasPrefix("epoch 2  train loss") }
        #expect(summaries.count == 2)
        #expect(summaries.allSatisfy { $0.contains("test loss") && $0.contains(" acc ") && $0.contains(" s (") })
    }

    @Test func consoleDrawsABarOnATerminal() throws {
        var text = ""
        let console = ConsoleProgress(isTerminal: true) { text += $0 }
        let trainer = try Trainer(
            model: try Toy.model(), trainingSet: Toy.trainingSet, testSet: Toy.testSet, options: TrainingOptions(epochs: 1))
        trainer.onEvent = console.handle
        try trainer.run()
        #expect(text.contains("\r\u{1B}[2Kepoch 1/1 [========================] 30/30  loss "))
        #expect(text.contains("ETA 0:00"))
        #expect(text.contains("\r\u{1B}[2Kepoch 1  train loss"), "the summary replaces the bar")
        #expect(
            ConsoleProgress.summary(Self.first)
                == "epoch 1  train loss 0.5000 acc 82.00%  test loss 0.4200 acc 85.00%  lr 0.05  12.5 s (4800 samples/s)")
        #expect(ConsoleProgress.clock(3725) == "1:02:05" && ConsoleProgress.clock(65) == "1:05")
    }
}
