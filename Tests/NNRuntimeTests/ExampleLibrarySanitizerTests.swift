// The committed library of every example (generated/<model>/), built with gcc -fsanitize=address,undefined
// and driven through its C API — init, save, load, train steps, save, predict — reports nothing, and computes
// what the Swift runtime computes, bit for bit; cross-compiled for aarch64 and run under qemu, it computes
// the same bits.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite(.serialized) struct ExampleLibrarySanitizerTests {
    static var models: [String] {
        GeneratedCTests.generatedSources.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
    }

    /// `driver SEED INPUT TARGETS STEPS LR SAVED PREDICTED`.
    static func driver(_ m: String, real: String, classes: Bool) -> String {
        let macro = m.uppercased()
        let target = classes ? "int32_t" : real
        let targetCount = classes ? "\(macro)_BATCH" : "\(macro)_OUTPUT_SIZE"
        return """
            #include "\(m).h"
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>

            static int read_file(const char *path, void *out, size_t bytes) {
                FILE *f = fopen(path, "rb");
                size_t got = f ? fread(out, 1, bytes, f) : 0;
                if (f) fclose(f);
                return got == bytes ? 0 : 1;
            }

            int main(int argc, char **argv) {
                if (argc != 8) return 2;
                const size_t mem_bytes = (sizeof(\(real)) * \(macro)_MEM_SIZE + 63) / 64 * 64;
                \(real) *mem = aligned_alloc(64, mem_bytes);
                \(real) *input = malloc(sizeof(\(real)) * \(macro)_INPUT_SIZE);
                \(real) *out = malloc(sizeof(\(real)) * \(macro)_OUTPUT_SIZE);
                \(target) *targets = malloc(sizeof(\(target)) * \(targetCount));
                unsigned char *image = malloc(\(m)_save_size());
                if (!mem || !input || !out || !targets || !image) return 3;
                memset(mem, 0, mem_bytes);
                if (\(m)_init(mem, strtoull(argv[1], 0, 10))) return 4;
                if (\(m)_save(mem, image, \(m)_save_size()) != \(m)_save_size()) return 5;
                memset(mem, 0, mem_bytes);
                int code = \(m)_load(mem, image, \(m)_save_size());
                if (code) {
                    printf("load: %s\\n", \(m)_error(code));
                    return 6;
                }
                if (read_file(argv[2], input, sizeof(\(real)) * \(macro)_INPUT_SIZE) ||
                    read_file(argv[3], targets, sizeof(\(target)) * \(targetCount)))
                    return 7;
                const int steps = atoi(argv[4]);
                const double lr = atof(argv[5]);
                for (int step = 1; step <= steps; step++)
                    printf("loss %a\\n", \(m)_train_step(mem, input, targets, lr, step, 0));
                code = \(m)_save_file(mem, argv[6]);
                if (code) {
                    printf("save: %s\\n", \(m)_error(code));
                    return 8;
                }
                \(m)_predict(mem, input, out);
                FILE *f = fopen(argv[7], "wb");
                if (!f || fwrite(out, sizeof(\(real)), \(macro)_OUTPUT_SIZE, f) != \(macro)_OUTPUT_SIZE) return 9;
                fclose(f);
                free(mem);
                free(input);
                free(out);
                free(targets);
                free(image);
                return 0;
            }
            """
    }

    @Test(arguments: models)
    func exampleLibraryUnderSanitizers(model name: String) throws {
        try Self.driveAndCompare(
            name,
            compiler: [
                "gcc", "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fsanitize=address,undefined",
                "-fno-sanitize-recover=all", "-pthread",
            ], runner: [], environment: ["ASAN_OPTIONS": "detect_leaks=1"])
    }

    /// The same on aarch64: cross-compiled (NEON path, the thread pool) and run under qemu, bit for bit
    /// the x86 results — kernels and libm alike.
    @Test(arguments: models)
    func exampleLibraryOnAarch64(model name: String) throws {
        try #require(
            GeneratedCTests.available("aarch64-linux-gnu-gcc"), "aarch64-linux-gnu-gcc is not installed (Debian gcc-aarch64-linux-gnu)")
        try #require(GeneratedCTests.available("qemu-aarch64"), "qemu-aarch64 is not installed (Debian qemu-user)")
        try Self.driveAndCompare(
            name,
            compiler: [
                "aarch64-linux-gnu-gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-pthread", "-static",
            ],
            runner: ["qemu-aarch64"], environment: [:])
    }

    /// Builds the driver of example `name` with `compiler`, runs it (through `runner`), and compares its
    /// losses, saved tensors and predictions with the Swift runtime's, bit for bit.
    static func driveAndCompare(_ name: String, compiler: [String], runner: [String], environment: [String: String]) throws {
        let library = GeneratedCTests.root + "/generated/\(name)"
        // The banner names the spec: "/* NAME.c — generated by nngen V from SPEC; do not edit."
        let banner = try String(contentsOfFile: "\(library)/\(name).c", encoding: .utf8).prefix { $0 != "\n" }
        let from = try #require(banner.range(of: " from "), "no spec in the banner of \(name).c")
        let specPath = String(banner[from.upperBound...].prefix { $0 != ";" })
        let graph = try ShapeInference.load(
            try String(contentsOfFile: GeneratedCTests.root + "/" + specPath, encoding: .utf8), path: specPath)
        let classes = graph.loss.definition.target == .classIndices
        let real = graph.dtype.cType
        let directory = NSTemporaryDirectory() + "nngen-asan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.driver(name, real: real, classes: classes).write(toFile: directory + "/main.c", atomically: true, encoding: .utf8)
        let build = GeneratedCTests.run(
            compiler + ["-I", library, directory + "/main.c", "\(library)/\(name).c", "-lm", "-o", directory + "/driver"])
        try #require(build.status == 0, "\(build.output)")

        // One batch of random inputs and targets, and the same two steps in the Swift runtime (libtcc).
        var rng = SplitMix64(seed: 21)
        let input = (0..<graph.inputShape.count).map { _ in rng.normal() }
        let labels = (0..<graph.batch).map { _ in Int32(rng.next() % UInt64(graph.outputShape.featureCount)) }
        let values = (0..<graph.outputShape.count).map { _ in rng.normal() }
        func bytes(_ v: [Double]) -> Data {
            graph.dtype == .float32
                ? v.map(Float.init).withUnsafeBufferPointer { Data(buffer: $0) } : v.withUnsafeBufferPointer { Data(buffer: $0) }
        }
        try bytes(input).write(to: URL(fileURLWithPath: directory + "/x.bin"))
        try (classes ? labels.withUnsafeBufferPointer { Data(buffer: $0) } : bytes(values))
            .write(to: URL(fileURLWithPath: directory + "/y.bin"))
        let lr = 0.01
        let run = GeneratedCTests.run(
            runner + [
                directory + "/driver", "9", directory + "/x.bin", directory + "/y.bin", "2", "\(lr)", directory + "/saved.safetensors",
                directory + "/p.bin",
            ], environment: environment)
        try #require(run.status == 0, "\(name): \(run.output)")

        let model = try CompiledModel(graph: graph, backend: .tcc)
        model.initialize(seed: 9)
        var losses: [String] = []
        for _ in 0..<2 {
            let loss = try model.trainStep(input: input, target: classes ? .classes(labels) : .values(values), learningRate: lr)
            losses.append("loss " + String(format: "%a", loss))
        }
        #expect(run.output.split(separator: "\n").map(String.init) == losses, "\(name): the C and Swift losses differ")
        let saved = Dictionary(
            uniqueKeysWithValues: try Safetensors.read(path: directory + "/saved.safetensors").tensors.map { ($0.name, $0.tensor) })
        for (tensorName, tensor) in model.exportTensors() + model.exportOptimizerState() {
            #expect(saved[tensorName] == tensor, "\(name): \(tensorName) after two C steps differs from the Swift runtime's")
        }
        let predicted = try Data(contentsOf: URL(fileURLWithPath: directory + "/p.bin"))
        let got: [Double] =
            graph.dtype == .float32
            ? predicted.withUnsafeBytes { Array($0.bindMemory(to: Float.self)).map(Double.init) }
            : predicted.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        let expected = try model.predictProbabilities(input, count: graph.batch)
        let rounded = graph.dtype == .float32 ? expected.map { Double(Float($0)) } : expected
        #expect(got == rounded, "\(name): predict differs from the Swift runtime's")
    }
}
