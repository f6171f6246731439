// MetricsLog: appends one line per epoch to a CSV or JSON-lines file, for plotting and comparing runs.

import Foundation
import NNGen

/// A metrics file that grows by one line per finished epoch: CSV (with a header line) when the name ends
/// in `.csv`, JSON lines when it ends in `.jsonl`, `.ndjson` or `.json`.
///
/// ```
/// epoch,step,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds,samples_per_second
/// 1,468,0.05,0.4815,0.8271,0.4012,0.8554,31.2,2012.5
/// {"epoch":1,"step":468,"lr":0.05,"train_loss":0.4815,...}
/// ```
/// Test columns are empty (CSV) or null (JSON) without a test set.
public struct MetricsLog: Sendable {
    public enum Format: String, Sendable { case csv, jsonLines }

    public static let columns = [
        "epoch", "step", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "samples_per_second",
    ]
    public static var csvHeader: String { columns.joined(separator: ",") }

    public let path: String
    public let format: Format

    /// A log appending to `path`, the format chosen by its extension. Checks now, before any training,
    /// that the folder exists and that an existing CSV file has the same columns.
    public init(path: String) throws {
        let name = path.lowercased()
        if name.hasSuffix(".csv") {
            format = .csv
        } else if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") {
            format = .jsonLines
        } else {
            throw Diagnostic(file: path, "cannot tell the metrics format from the file name", hint: "name the file .csv or .jsonl")
        }
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Diagnostic(file: path, "cannot write metrics: directory '\(directory)' does not exist")
        }
        if format == .csv, let existing = FileManager.default.contents(atPath: path), !existing.isEmpty {
            let firstLine = String(decoding: existing.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            guard firstLine == Self.csvHeader else {
                throw Diagnostic(
                    file: path, "the file exists with other columns: '\(firstLine)'",
                    hint: "append to a file written by nngen train, or choose a new file; the columns are \(Self.csvHeader)")
            }
        }
    }

    /// Appends one epoch's line (and the CSV header first if the file is new or empty).
    public func append(_ record: EpochRecord) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw Diagnostic(file: path, "cannot open the metrics file: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var text = ""
        if format == .csv, lseek(descriptor, 0, SEEK_END) == 0 { text += Self.csvHeader + "\n" }
        text += line(record) + "\n"
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw Diagnostic(file: path, "cannot write the metrics file: \(String(cString: strerror(errno)))")
        }
    }

    /// One epoch as a CSV row or a JSON object, in the order of `columns`.
    public func line(_ record: EpochRecord) -> String {
        let values: [String?] = [
            String(record.epoch), String(record.step), Self.number(record.learningRate), Self.number(record.trainLoss),
            Self.number(record.trainAccuracy), record.testLoss.map(Self.number), record.testAccuracy.map(Self.number),
            Self.number(record.seconds), Self.number(record.samplesPerSecond),
        ]
        switch format {
        case .csv:
            return values.map { $0 ?? "" }.joined(separator: ",")
        case .jsonLines:
            return "{" + zip(Self.columns, values).map { "\"\($0)\":\($1 ?? "null")" }.joined(separator: ",") + "}"
        }
    }

    /// The shortest text that reads back as the same Double; non-finite values as JSON-safe `null`.
    static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }
}
