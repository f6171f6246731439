// The generated C library used on its own, as an embedder would: compiled by the system compiler from
// generated/, driven by a small C program through its header and tensor table, it trains exactly like the
// Swift runtime's in-memory (libtcc) build of the same spec.

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct EmbeddedLibraryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// The value both sides store at element `index` of the tensor at `offset`: a few distinct values per
    /// tensor, variances kept positive.
    static func value(offset: Int, index: Int, variance: Bool) -> Double {
        let v = Double((offset + index) * 37 % 17) / 17.0 - 0.5
        return variance ? v + 1 : v
    }

    static let driver = """
        /* Trains tiny_f64 for three steps through its public header and prints the losses. */
        #include "tiny_f64.h"
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        int main(void) {
            double *mem = aligned_alloc(64, sizeof(double) * ((TINY_F64_MEM_SIZE + 7) / 8 * 8));
            if (!mem) return 1;
            memset(mem, 0, sizeof(double) * TINY_F64_MEM_SIZE);
            for (const tiny_f64_tensor *t = tiny_f64_tensors; t->name; t++) {
                long count = 1;
                for (int r = 0; r < t->rank; r++) count *= t->shape[r];
                const int variance = strstr(t->name, "running_var") != NULL;
                for (long i = 0; i < count; i++) {
                    const double v = (double)((t->offset + i) * 37 % 17) / 17.0 - 0.5;
                    mem[t->offset + i] = variance ? v + 1 : v;
                }
            }
            double input[TINY_F64_INPUT_SIZE];
            for (int i = 0; i < TINY_F64_INPUT_SIZE; i++) input[i] = (double)(i % 11) / 10.0 - 0.5;
            const int32_t labels[TINY_F64_BATCH] = {0, 1, 2, 3};
            for (int step = 1; step <= 3; step++)
                printf("%.17g\\n", tiny_f64_train_step(mem, input, labels, 0.1, step, 0));
            printf("%.17g\\n", mem[TINY_F64_FC1_WEIGHT + 5]);
            free(mem);
            return 0;
        }
        """

    @Test func generatedLibraryTrainsLikeTheRuntime() throws {
        let compiler = ["gcc", "cc", "clang"].first { GeneratedCTests.available($0) }
        let cc = try #require(compiler, "no C compiler: install gcc")
        let directory = NSTemporaryDirectory() + "nngen-embed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.driver.write(toFile: directory + "/main.c", atomically: true, encoding: .utf8)
        let library = Self.root + "/generated/tiny_f64"
        let build = GeneratedCTests.run([
            cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-I", library, directory + "/main.c",
            library + "/tiny_f64.c", "-o", directory + "/train", "-lm", "-lpthread",
        ])
        #expect(build.status == 0, "\(build.output)")
        let run = GeneratedCTests.run([directory + "/train"])
        #expect(run.status == 0, "\(run.output)")
        let printed = run.output.split(separator: "\n").compactMap { Double($0) }

        let model = try CompiledModel(specPath: Self.root + "/examples/tiny_f64.spec", backend: .tcc)
        for tensor in model.plan.tensors {
            try model.setTensor(
                tensor.name,
                (0..<tensor.count).map {
                    Self.value(offset: tensor.offset, index: $0, variance: tensor.name.hasSuffix("running_var"))
                })
        }
        let input = (0..<model.graph.inputShape.count).map { Double($0 % 11) / 10.0 - 0.5 }
        try model.stageInput(input)
        try model.stageTarget(.classes([0, 1, 2, 3]))
        var expected: [Double] = []
        for _ in 1...3 { expected.append(try model.stagedTrainStep(learningRate: 0.1)) }
        expected.append(try model.tensor("fc1.weight")[5])
        #expect(printed.count == 4)
        #expect(
            printed.map(\.bitPattern) == expected.map(\.bitPattern),
            "C library \(printed) vs runtime \(expected)")
    }
}
