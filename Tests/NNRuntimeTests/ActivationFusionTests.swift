// The fused batchnorm + relu entry points against the two layers' own kernels: a C driver runs a generated
// library's whole-network forward and backward (which call bn_forward_relu and bn_backward_relu) and, on a
// second copy of the memory, every layer's own forward and backward in the same order; every parameter
// gradient, buffer, layer output (but the fused batchnorms', which the network does not store) and the loss
// must be the same bits, with gcc's optimized kernels and tcc's scalar ones, in float32 and float64, in
// train and in test mode.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct ActivationFusionTests {
    /// Two fusions: a spatial batchnorm (S = 25: the 16-lane sums and their tail) and a per-feature one.
    static func spec(_ dtype: DType) -> String {
        """
        model fuse
        input x [4, 2, 5, 5]
        dtype \(dtype.rawValue)
        conv c1 filters=3 size=3 pad=1
        batchnorm bn1
        relu r1
        affine fc out=6
        batchnorm bn2
        relu r2
        affine out out=3
        loss softmax
        optimizer sgd lr=0.1 momentum=0.9
        """
    }

    /// The driver: for train = 1 and 0, both ways on two copies of the memory, then a comparison. Prints
    /// `train T: same` or the first difference, and the share of relu outputs that are 0 (the mask must
    /// matter).
    static func driver(_ graph: ShapedGraph) -> String {
        let names = Names(model: graph.modelName)
        func output(_ index: Int) -> String { "\(names.macro(graph.layers[index].name + "_OUTPUT"))" }
        func source(_ index: Int, _ memory: String) -> String { index == 0 ? "input" : "\(memory) + \(output(index - 1))" }
        var separateForward = ""
        var separateBackward = ""
        for (index, layer) in graph.layers.enumerated() {
            separateForward += "    fuse_\(layer.name)_forward(b, \(source(index, "b")), train, 5);\n"
            let dx = index == 0 ? "NULL" : "d[\(index - 1)]"
            separateBackward = "    fuse_\(layer.name)_backward(b, \(source(index, "b")), d[\(index)], \(dx), train);\n" + separateBackward
        }
        // Every output but the fused batchnorms': the network's forward does not store them.
        let fused = Set(MemoryPlan.plan(graph).fusions.map(\.producer))
        let outputs = graph.layers.indices.filter { !fused.contains($0) }
            .map { "{\(output($0)), \(graph.layers[$0].output.count)}" }.joined(separator: ", ")
        let last = graph.layers.count - 1
        let relu = graph.layers.indices.filter { graph.layers[$0].kind == "relu" }
        return """
            #define _ISOC11_SOURCE /* aligned_alloc with tcc, which does not claim C11 */
            #include "fuse.h"
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            typedef \(graph.dtype.cType) REAL;

            /* count zeros, 64-byte aligned as the generated code wants its memory */
            static REAL *allocate(size_t count) {
                const size_t bytes = (count * sizeof(REAL) + 63) / 64 * 64;
                REAL *p = aligned_alloc(64, bytes);
                if (!p) exit(3);
                memset(p, 0, bytes);
                return p;
            }

            int main(void) {
                REAL *a = allocate(FUSE_MEM_SIZE), *b = allocate(FUSE_MEM_SIZE), *input = allocate(FUSE_INPUT_SIZE);
                REAL *d[\(graph.layers.count)];
                for (int i = 0; i < \(graph.layers.count); i++) d[i] = allocate(\(graph.layers.map(\.output.count).max() ?? 1));
                int32_t target[FUSE_BATCH];
                uint64_t s = 12345;
                for (int i = 0; i < FUSE_INPUT_SIZE; i++) {
                    s = s * 6364136223846793005u + 1442695040888963407u;
                    input[i] = (REAL)((int)(s >> 33) % 2001 - 1000) / 500;
                }
                for (int n = 0; n < FUSE_BATCH; n++) target[n] = n % 3;
                const struct { long offset, count; } outputs[] = {\(outputs)};
                for (int train = 1; train >= 0; train--) {
                    fuse_init(a, 7);
                    fuse_init(b, 7);
                    const double la = fuse_forward(a, input, target, train, 5);
                    fuse_backward(a, input, target, NULL, train);
            \(separateForward)        const double lb = fuse_loss_forward(b, b + \(output(last)), target);
                    fuse_loss_backward(b, b + \(output(last)), target, d[\(last)]);
            \(separateBackward)        int same = memcmp(&la, &lb, sizeof la) == 0;
                    if (!same) printf("train %d: loss %.17g vs %.17g\\n", train, la, lb);
                    /* parameters, their gradients, buffers (running statistics) */
                    if (memcmp(a, b, (size_t)(FUSE_BUFFERS_OFFSET + FUSE_BUFFERS_SIZE) * sizeof(REAL)) != 0) {
                        same = 0;
                        printf("train %d: parameters, gradients or buffers differ\\n", train);
                    }
                    for (int l = 0; l < (int)(sizeof outputs / sizeof outputs[0]); l++)
                        if (memcmp(a + outputs[l].offset, b + outputs[l].offset, (size_t)outputs[l].count * sizeof(REAL)) != 0) {
                            same = 0;
                            printf("train %d: output of layer %d differs\\n", train, l);
                        }
                    if (same) printf("train %d: same\\n", train);
                }
                long zeros = 0, total = 0;
                \(relu.map { "for (long i = 0; i < \(graph.layers[$0].output.count); i++) zeros += a[\(output($0)) + i] == 0;\n    total += \(graph.layers[$0].output.count);" }.joined(separator: "\n    "))
                printf("relu zeros %.2f\\n", (double)zeros / total);
                return 0;
            }
            """
    }

    @Test(arguments: [DType.float32, .float64])
    func fusedCallsMatchTheLayersOwnKernels(dtype: DType) throws {
        let graph = try ShapeInference.load(Self.spec(dtype), path: "fuse.spec")
        let plan = MemoryPlan.plan(graph)
        #expect(plan.fusions.map(\.producer) == [1, 4] && plan.fusions.allSatisfy { $0.kind == "relu" })
        let directory = NSTemporaryDirectory() + "nngen-fuse-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try Emitter.emit(graph, plan: plan, templates: .embedded)
        try source.header.write(toFile: directory + "/fuse.h", atomically: true, encoding: .utf8)
        try source.source.write(toFile: directory + "/fuse.c", atomically: true, encoding: .utf8)
        try Self.driver(graph).write(toFile: directory + "/main.c", atomically: true, encoding: .utf8)
        #expect(source.source.contains("fuse_bn1_forward_relu(mem") && !source.source.contains("fuse_r1_forward(mem"))
        let compilers: [[String]] = [
            ["gcc", "-std=c11", "-O3", "-march=native", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pthread"],
            ["tcc", "-Wall", "-Werror", "-pthread"],
        ]
        var ran = 0
        for compiler in compilers where GeneratedCTests.available(compiler[0]) {
            let binary = directory + "/driver-" + compiler[0]
            let build = GeneratedCTests.run(
                compiler + ["-I", directory, directory + "/main.c", directory + "/fuse.c", "-lm", "-o", binary])
            try #require(build.status == 0, "\(compiler[0]): \(build.output)")
            let run = GeneratedCTests.run([binary])
            #expect(run.status == 0)
            #expect(run.output.contains("train 1: same") && run.output.contains("train 0: same"), "\(compiler[0]): \(run.output)")
            let zeros = run.output.split(separator: "\n").last.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
            #expect(zeros > 0.2 && zeros < 0.8, "\(compiler[0]): relu should zero part of its inputs: \(run.output)")
            ran += 1
        }
        #expect(ran > 0, "neither gcc nor tcc is installed")
    }

    /// Which pairs are fused: only a batchnorm (not sync=true) whose output a relu alone reads, next in order.
    @Test func fusionNeedsTheReluToBeTheOnlyReader() throws {
        func fusions(_ body: String, forwardOnly: Bool = false) throws -> [String] {
            let spec = "input x [4, 6]\n\(body)\naffine head out=3\nloss softmax\noptimizer sgd lr=0.1\n"
            let graph = try ShapeInference.load(spec, path: "f.spec", forwardOnly: forwardOnly)
            let plan = forwardOnly ? MemoryPlan.planForward(graph) : MemoryPlan.plan(graph)
            return plan.fusions.map { "\(graph.layers[$0.producer].name)+\(graph.layers[$0.activation].name)" }
        }
        #expect(try fusions("batchnorm bn\nrelu r") == ["bn+r"])
        #expect(try fusions("affine a out=6\nbatchnorm bn\nrelu r\nbatchnorm bn2\nrelu r2") == ["bn+r", "bn2+r2"])
        #expect(try fusions("batchnorm bn\nrelu r\nadd s from=bn,r") == [])  // bn's output has a second reader
        #expect(try fusions("batchnorm bn sync=true\nrelu r") == [])  // batchnorm_sync.c has no fused entry points
        #expect(try fusions("batchnorm bn\nleakyrelu r") == [])
        #expect(try fusions("relu r\nbatchnorm bn") == [])
        #expect(try fusions("batchnorm bn\nrelu r", forwardOnly: true) == [])
    }
}
