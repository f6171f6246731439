// The nngen binary end to end: exit codes, messages on stderr, files written.

import Foundation
import Testing

@testable import NNRuntime

@Suite struct CommandLineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// The nngen built next to this test bundle (`swift build --build-tests` builds it).
    static var binary: String? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("nngen").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func nngen(_ arguments: [String], in directory: String? = nil) throws -> Result {
        let binary = try #require(Self.binary, "nngen binary not found next to the tests; run swift build --build-tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "nngen-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func checkPrintsTheLayerTable() throws {
        let result = try Self.nngen(["check", Self.root + "/examples/fashion_mlp.spec"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("fc1    affine     [128, 784]  [128, 512]  401,920    102,825,984"))
        #expect(result.stdout.contains("total "))
    }

    /// A spec PyTorch accepts but whose rounding leaves input unread: exit 0, the layers printed, a located warning.
    @Test func warningsArePrintedWithTheSourceLine() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "input x [2, 1, 7, 7]\nmaxpool p size=2\naffine fc out=3\nloss softmax\n".write(
            toFile: directory + "/warn.spec", atomically: true, encoding: .utf8)
        let result = try Self.nngen(["check", "warn.spec"], in: directory)
        #expect(result.status == 0)
        #expect(result.stdout.contains("p      maxpool  [2, 1, 7, 7]  [2, 1, 3, 3]"))
        #expect(
            result.stderr.hasPrefix(
                "warn.spec:2:1: warning: maxpool 'p' on [2, 1, 7, 7]: output height ⌊(7 + 2·0 − 2) / 2⌋ + 1 = 3 leaves the last 1 input row"
            ))
        #expect(result.stderr.contains("    maxpool p size=2\n    ^"))
    }

    /// `nngen grad` on a graph (a residual network) writes the keys of PyTorch's dump, with PyTorch's loss.
    @Test func gradOnAGraphWritesPyTorchsKeys() throws {
        let base = Self.root + "/Tests/EquivalenceTests/Fixtures/pytorch/residual"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try Self.nngen([
            "grad", base + ".spec", "--params", base + ".params.safetensors", "--input", base + ".x.npy", "--labels", base + ".y.npy",
            "-o", directory + "/out.safetensors", "--backend", "tcc",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try Safetensors.read(path: directory + "/out.safetensors").tensors
        let expected = try Safetensors.read(path: base + ".expected.safetensors").tensors
        #expect(Set(written.map(\.name)) == Set(expected.map(\.name)))
        let loss = try #require(written.first { $0.name == "loss" }).tensor.doubles()[0]
        let pytorch = try #require(expected.first { $0.name == "loss" }).tensor.doubles()[0]
        #expect(abs(loss - pytorch) <= 1e-9 * abs(pytorch))
    }

    @Test func aBadSpecExitsNonZeroWithALocatedMessage() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "input x [2, 3]\naffine fc out=ten\nloss softmax\n".write(toFile: directory + "/bad.spec", atomically: true, encoding: .utf8)
        let result = try Self.nngen(["check", "bad.spec"], in: directory)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("bad.spec:2:15: error: bad value 'ten' for 'out' of affine 'fc': expected a whole number"))
        #expect(result.stderr.contains("    affine fc out=ten\n                  ^"))
    }

    @Test func missingFilesAndBadFlagsExitNonZero() throws {
        let missing = try Self.nngen(["check", "/nonexistent/model.spec"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent/model.spec: error: cannot open for reading"))
        let badFlag = try Self.nngen(["train", Self.root + "/examples/tiny_f64.spec", "--epochs", "zero"])
        #expect(badFlag.status != 0)
        #expect(badFlag.stderr.contains("zero"))
        let noEpochs = try Self.nngen(["train", Self.root + "/examples/tiny_f64.spec", "--epochs", "0"])
        #expect(noEpochs.status == 1)
        #expect(noEpochs.stderr.contains("--epochs must be at least 1"))
    }

    /// compile --inference [--batch B] [--embed-weights CKPT]; check reports the forward-only memory; bad
    /// values are located errors.
    @Test func compileInferenceBuildsAndEmbeddedWeights() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spec = Self.root + "/examples/fashion_cnn.spec"
        let check = try Self.nngen(["check", spec])
        #expect(check.stdout.contains("inference build (compile --inference): 7,255,552 bytes, with --batch 1: 984,064 bytes"))
        let one = try Self.nngen(["check", spec, "--inference", "--batch", "1"])
        #expect(one.status == 0 && one.stdout.contains("memory (forward only): 246,016 elements (984,064 bytes)"), "\(one)")
        #expect(try Self.nngen(["init", spec, "--seed", "1", "-o", directory + "/p.safetensors"]).status == 0)
        let compiled = try Self.nngen([
            "compile", spec, "--inference", "--batch", "1", "--embed-weights", directory + "/p.safetensors", "-o", directory + "/out",
        ])
        #expect(compiled.status == 0, "\(compiled.stderr)")
        let header = try String(contentsOfFile: directory + "/out/fashion_cnn.h", encoding: .utf8)
        #expect(header.contains("#define FASHION_CNN_BATCH 1 ") && header.contains("#define FASHION_CNN_FORWARD_ONLY 1 "))
        #expect(header.contains("int fashion_cnn_init_embedded(float *mem);") && !header.contains("fashion_cnn_backward("))
        let zero = try Self.nngen(["compile", spec, "--inference", "--batch", "0", "-o", directory + "/bad"])
        #expect(zero.status != 0 && zero.stderr.contains("--batch 0 is out of range"))
        let wrong = try Self.nngen([
            "compile", Self.root + "/examples/fashion_mlp.spec", "--embed-weights", directory + "/p.safetensors", "-o", directory + "/bad",
        ])
        #expect(wrong.status != 0 && wrong.stderr.contains("is not in model 'fashion_mlp'"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/bad"))
    }

    /// nngen import writes a spec and its parameters that check, and nngen eval-style loading accepts.
    @Test func importWritesASpecAndItsParameters() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let onnx = Self.root + "/Tests/ImportTests/Fixtures/cnn.onnx"
        let result = try Self.nngen(["import", onnx, "-o", directory, "--name", "ported", "--optimizer", "adam lr=0.001"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("wrote \(directory)/ported.spec and \(directory)/ported.safetensors (13 tensors)"))
        let check = try Self.nngen(["check", directory + "/ported.spec"])
        #expect(check.status == 0 && check.stdout.contains("model ported"), "\(check.stderr)")
        let model = try CompiledModel(specPath: directory + "/ported.spec")
        try model.loadParameters(from: directory + "/ported.safetensors")
        // Fine-tuning from the imported parameters: train --params.
        var rng = SplitMix64(seed: 2)
        try NPY.write(
            HostTensor(shape: [6, 1, 8, 8], doubles: (0..<384).map { _ in rng.normal() }, as: .float32), to: directory + "/x.npy")
        try NPY.write(HostTensor(shape: [6], doubles: [0, 1, 2, 0, 1, 2], as: .int32), to: directory + "/y.npy")
        let data = ["--data", directory + "/x.npy", "--labels", directory + "/y.npy", "--backend", "tcc", "--epochs", "1"]
        let tuned = try Self.nngen(["train", directory + "/ported.spec", "--params", directory + "/ported.safetensors"] + data)
        #expect(tuned.status == 0 && tuned.stdout.contains("starting from the parameters in"), "\(tuned.stderr)")
        let both = try Self.nngen(
            [
                "train", directory + "/ported.spec", "--params", directory + "/ported.safetensors", "--resume",
                directory + "/ported.safetensors",
            ] + data)
        #expect(both.status == 1 && both.stderr.contains("--params and --resume"))
        let bad = try Self.nngen(["import", Self.root + "/Tests/ImportTests/Fixtures/unsupported.onnx", "-o", directory])
        #expect(bad.status == 1 && bad.stderr.contains("operator Abs is not supported"))
    }

    @Test func compileInitAndGradWriteTheirFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spec = Self.root + "/examples/tiny_f64.spec"
        let compiled = try Self.nngen(["compile", spec, "-o", directory + "/out"])
        #expect(compiled.status == 0, "\(compiled.stderr)")
        let header = try String(contentsOfFile: directory + "/out/tiny_f64.h", encoding: .utf8)
        #expect(header.contains("double tiny_f64_forward(double *mem"))
        #expect(FileManager.default.fileExists(atPath: directory + "/out/tiny_f64.c"))

        #expect(try Self.nngen(["init", spec, "--seed", "3", "-o", directory + "/p.safetensors"]).status == 0)
        // A .npy written by hand: float64 [4, 2, 3, 3] zeros, int64 labels.
        func npy(_ descr: String, _ shape: String, _ payload: [UInt8]) -> [UInt8] {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let length = UInt16(header.utf8.count)
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + payload
        }
        try Data(npy("<f8", "(4, 2, 3, 3)", [UInt8](repeating: 0, count: 72 * 8))).write(to: URL(fileURLWithPath: directory + "/x.npy"))
        let labels: [UInt8] = [0, 1, 2, 3].flatMap { (v: UInt8) in [v, 0, 0, 0, 0, 0, 0, 0] }
        try Data(npy("<i8", "(4,)", labels)).write(to: URL(fileURLWithPath: directory + "/y.npy"))
        let grad = try Self.nngen([
            "grad", spec, "--params", directory + "/p.safetensors", "--input", directory + "/x.npy",
            "--labels", directory + "/y.npy", "-o", directory + "/g.safetensors",
        ])
        #expect(grad.status == 0, "\(grad.stderr)")
        #expect(grad.stdout.contains("wrote 11 tensors"))
        let badLabels = try Self.nngen([
            "grad", spec, "--params", directory + "/p.safetensors", "--input", directory + "/y.npy",
            "--labels", directory + "/y.npy", "-o", directory + "/g2.safetensors",
        ])
        #expect(badLabels.status == 1)
        #expect(badLabels.stderr.contains("input has shape [4]; 'x' is [4, 2, 3, 3]"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/g2.safetensors"))
    }
}
