// The C API of a generated library (init, load, save, preprocess, predict, learning rate, file helpers),
// driven from a C program built with gcc -fsanitize=address,undefined: it matches the Swift runtime bit for
// bit, rejects every kind of hostile file with its own code, and the sanitizers report nothing.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite(.serialized) struct LibraryAPITests {
    static func spec(_ dtype: DType) -> String {
        """
        model libtest
        input x [4, 1, 5, 5]
        normalize mean=0.25 std=0.5
        dtype \(dtype.rawValue)
        conv c1 filters=3 size=3 pad=1
        batchnorm bn1
        relu
        affine fc out=3 init=xavier
        loss softmax
        optimizer adam lr=0.01
        schedule cosine
        """
    }

    /// `driver init SEED OUT`, `driver load FILE`, `driver roundtrip IN OUT`, `driver predict PARAMS RAW OUT`,
    /// `driver lr STEP TOTAL PER_EPOCH`: each prints its result codes or values.
    static let driver = """
        #include "libtest.h"
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #define REAL NNGEN_REAL_OF_LIBTEST

        static void *allocate(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

        int main(int argc, char **argv) {
            if (argc < 2) return 2;
            REAL *mem = allocate(sizeof(REAL) * LIBTEST_MEM_SIZE);
            if (!mem) return 3;
            memset(mem, 0, sizeof(REAL) * LIBTEST_MEM_SIZE);
            int code = 0;
            if (!strcmp(argv[1], "init") && argc == 4) {
                code = libtest_init(mem, strtoull(argv[2], 0, 10));
                if (!code) code = libtest_save_file(mem, argv[3]);
            } else if (!strcmp(argv[1], "load") && argc == 3) {
                code = libtest_load_file(mem, argv[2]);
                printf("%d %s\\n", code, libtest_error(code));
                code = 0;
            } else if (!strcmp(argv[1], "roundtrip") && argc == 4) {
                code = libtest_load_file(mem, argv[2]);
                unsigned char tiny[8];
                if (!code && libtest_save(mem, tiny, sizeof tiny) != 0) code = 20; /* too small: must write nothing */
                if (!code) code = libtest_save_file(mem, argv[3]);
            } else if (!strcmp(argv[1], "predict") && argc == 5) {
                code = libtest_load_file(mem, argv[2]);
                FILE *f = fopen(argv[3], "rb");
                uint8_t raw[LIBTEST_INPUT_SIZE];
                REAL input[LIBTEST_INPUT_SIZE], out[LIBTEST_OUTPUT_SIZE];
                if (!code && (!f || fread(raw, 1, sizeof raw, f) != sizeof raw)) code = 21;
                if (f) fclose(f);
                if (!code) {
                    libtest_preprocess(raw, input);
                    libtest_predict(mem, input, out);
                    FILE *o = fopen(argv[4], "wb");
                    if (!o || fwrite(out, sizeof(REAL), LIBTEST_OUTPUT_SIZE, o) != LIBTEST_OUTPUT_SIZE) code = 22;
                    if (o) fclose(o);
                }
            } else if (!strcmp(argv[1], "lr") && argc == 5) {
                printf("%a\\n", libtest_learning_rate(atoll(argv[2]), atoll(argv[3]), atoll(argv[4])));
            } else {
                code = 2;
            }
            free(mem);
            return code;
        }
        """

    struct Build {
        var directory: String
        var binary: String
        var graph: ShapedGraph
    }

    /// Writes the library of `spec`, builds the driver with ASan and UBSan.
    static func build(_ dtype: DType) throws -> Build {
        let directory = NSTemporaryDirectory() + "nngen-lib-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let graph = try ShapeInference.load(spec(dtype), path: "libtest.spec")
        let source = try Emitter.emit(graph, plan: MemoryPlan.plan(graph), templates: .embedded)
        try source.header.write(toFile: directory + "/libtest.h", atomically: true, encoding: .utf8)
        try source.source.write(toFile: directory + "/libtest.c", atomically: true, encoding: .utf8)
        try driver.replacingOccurrences(of: "NNGEN_REAL_OF_LIBTEST", with: graph.dtype.cType)
            .write(toFile: directory + "/main.c", atomically: true, encoding: .utf8)
        let result = GeneratedCTests.run([
            "gcc", "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all", "-pthread", "-I", directory, directory + "/main.c", directory + "/libtest.c", "-lm", "-o",
            directory + "/driver",
        ])
        #expect(result.status == 0, "\(result.output)")
        return Build(directory: directory, binary: directory + "/driver", graph: graph)
    }

    static func run(_ build: Build, _ arguments: [String]) throws -> (status: Int32, output: String) {
        GeneratedCTests.run([build.binary] + arguments, environment: ["ASAN_OPTIONS": "detect_leaks=1"])
    }

    @Test(arguments: [DType.float32, .float64])
    func initMatchesNNGenInitBitForBit(dtype: DType) throws {
        let build = try Self.build(dtype)
        defer { try? FileManager.default.removeItem(atPath: build.directory) }
        let result = try Self.run(build, ["init", "7", build.directory + "/init.safetensors"])
        #expect(result.status == 0, "\(result.output)")
        let (written, metadata) = try Safetensors.read(path: build.directory + "/init.safetensors")
        #expect(metadata["format"] == "nngen-library-1" && metadata["preprocess"] == "normalize mean=0.25 std=0.5 max=255")
        let model = try CompiledModel(graph: build.graph)
        model.initialize(seed: 7)
        let expected = Dictionary(uniqueKeysWithValues: model.exportTensors().map { ($0.name, $0.tensor) })
        for (name, tensor) in written where !name.hasPrefix("optimizer.") {
            #expect(tensor == expected[name], "\(name) differs from nngen init")
        }
        #expect(written.filter { $0.name.hasPrefix("optimizer.") }.count == 2 * model.parameterNames.count)
    }

    /// A file saved by nngen loads, and what the library saves loads back into nngen with the same values.
    @Test func loadAndSaveRoundTrip() throws {
        let build = try Self.build(.float32)
        defer { try? FileManager.default.removeItem(atPath: build.directory) }
        let model = try CompiledModel(graph: build.graph)
        model.initialize(seed: 3)
        var rng = SplitMix64(seed: 9)
        for name in model.parameterNames {
            try model.setTensor(name, (0..<(try model.shape(of: name).count)).map { _ in rng.normal() })
        }
        let input = build.directory + "/in.safetensors"
        try Safetensors.write(model.exportTensors() + model.exportOptimizerState(), to: input)
        let result = try Self.run(build, ["roundtrip", input, build.directory + "/out.safetensors"])
        #expect(result.status == 0, "\(result.output)")
        let back = try CompiledModel(graph: build.graph)
        try back.loadParameters(from: build.directory + "/out.safetensors")
        for name in model.tensorNames { #expect(try back.tensor(name) == model.tensor(name), "\(name)") }
        let saved = Dictionary(
            uniqueKeysWithValues: try Safetensors.read(path: build.directory + "/out.safetensors").tensors.map { ($0.name, $0.tensor) })
        for (name, tensor) in model.exportOptimizerState() { #expect(saved[name] == tensor, "\(name)") }
    }

    /// Every kind of bad file gets its own code, and mem is untouched (the sanitizers watch every read).
    @Test func hostileFilesAreRejectedWithDistinctCodes() throws {
        let build = try Self.build(.float64)
        defer { try? FileManager.default.removeItem(atPath: build.directory) }
        let model = try CompiledModel(graph: build.graph)
        model.initialize(seed: 1)
        let good = model.exportTensors()
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = build.directory + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        func encoded(_ tensors: [(name: String, tensor: HostTensor)]) throws -> [UInt8] {
            let path = build.directory + "/tmp.safetensors"
            try Safetensors.write(tensors, to: path)
            return try FileBytes.read(path, limit: 1 << 30)
        }
        func header(_ json: String, data: Int = 0) -> [UInt8] {
            let h = Array(json.utf8)
            return (0..<8).map { UInt8(truncatingIfNeeded: h.count >> (8 * $0)) } + h + [UInt8](repeating: 0, count: data)
        }
        let valid = try encoded(good)
        var nan = good
        nan[0].tensor = HostTensor(
            shape: nan[0].tensor.shape, doubles: [.nan] + Array(repeating: 0, count: nan[0].tensor.count - 1), as: .float64)
        var wrongShape = good
        wrongShape[0].tensor = HostTensor(shape: [wrongShape[0].tensor.count], doubles: wrongShape[0].tensor.doubles(), as: .float64)
        let cases: [(String, [UInt8], Int)] = [
            ("valid", valid, 0),
            ("truncated", Array(valid.dropLast(9)), 1),
            ("empty", [], 1),
            ("garbage", header("{\"c1.weight\": [1, 2"), 2),
            ("absurd", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f] + Array(repeating: 0, count: 16), 3),
            (
                "float32",
                try encoded(good.map { ($0.name, HostTensor(shape: $0.tensor.shape, doubles: $0.tensor.doubles(), as: .float32)) }), 4
            ),
            ("shape", try encoded(wrongShape), 5),
            ("misnamed", try encoded(good + [("extra.weight", HostTensor(shape: [1], doubles: [0], as: .float64))]), 6),
            ("missing", try encoded(Array(good.dropLast())), 7),
            ("trailing", valid + [0, 0, 0, 0, 0, 0, 0, 0], 9),
            ("nan", try encoded(nan), 8),
            (
                "overlap",
                header(
                    "{\"c1.bias\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},\"bn1.gamma\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[8,32]}}",
                    data: 32), 9
            ),
        ]
        var codes: Set<Int> = []
        for (name, bytes, expected) in cases {
            let result = try Self.run(build, ["load", try file(name + ".safetensors", bytes)])
            #expect(result.status == 0, "\(name): \(result.output)")
            let code = Int(result.output.split(separator: " ").first ?? "") ?? -1
            #expect(code == expected, "\(name): \(result.output)")
            codes.insert(code)
        }
        #expect(
            codes == Set(0...9), "every kind of bad file has its own code (truncated and empty share one, overlap and trailing bytes too)")
    }

    /// preprocess + predict from raw bytes equals the Swift runtime's staging and predictProbabilities.
    @Test func predictFromRawBytesMatchesTheRuntime() throws {
        let build = try Self.build(.float32)
        defer { try? FileManager.default.removeItem(atPath: build.directory) }
        let model = try CompiledModel(graph: build.graph, backend: .tcc)
        model.initialize(seed: 5)
        try Safetensors.write(model.exportTensors(), to: build.directory + "/p.safetensors")
        var rng = SplitMix64(seed: 2)
        let raw = (0..<build.graph.inputShape.count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try Data(raw).write(to: URL(fileURLWithPath: build.directory + "/raw.bin"))
        let result = try Self.run(
            build, ["predict", build.directory + "/p.safetensors", build.directory + "/raw.bin", build.directory + "/out.bin"])
        #expect(result.status == 0, "\(result.output)")
        let out = try FileBytes.read(build.directory + "/out.bin", limit: 1 << 30)
        let floats: [Float] = out.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let c = floats.map { Double($0) }
        let map = ByteMap(build.graph.bytePreprocessing, channels: 1, featureCount: build.graph.inputShape.featureCount)
        let values = raw.enumerated().map { Double(map.value($0.element, feature: $0.offset % 25)) }
        let swift = try model.predictProbabilities(values, count: build.graph.batch)
        #expect(c.count == swift.count)
        for (a, b) in zip(c, swift) {
            let difference: Double = abs(a - b)
            #expect(difference <= 1e-6, "\(a) vs \(b)")
        }
    }

    @Test func learningRateIsTheTrainersBitForBit() throws {
        let build = try Self.build(.float32)
        defer { try? FileManager.default.removeItem(atPath: build.directory) }
        for (step, total) in [(0, 100), (37, 100), (100, 100), (250, 100)] {
            let result = try Self.run(build, ["lr", "\(step)", "\(total)", "10"])
            let c = Double(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
            let swift = build.graph.schedule.learningRate(base: 0.01, step: step, epoch: step / 10, totalSteps: total)
            #expect(c?.bitPattern == swift.bitPattern, "step \(step): \(result.output) vs \(swift)")
        }
    }
}
