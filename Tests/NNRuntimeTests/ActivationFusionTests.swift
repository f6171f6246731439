// The fused batchnorm + relu and add + relu entry points against the layers' own kernels: a C driver runs a
// generated library's whole-network forward and backward (which call bn_forward_relu, bn_backward_relu and
// add's likewise) and, on a second copy of the memory, every layer's own forward and backward in the same
// order; every parameter gradient, buffer, layer output (but the fused producers', which the network does not
// store) and the loss must be the same bits — for a chain, a graph whose relu output and batchnorm input have
// two readers each (batchnorm's dx added onto another reader's), residual sums of two and three inputs, and a
// network that starts with a batchnorm; with gcc's and clang's optimized kernels, gcc's scalar path, gcc with
// -ffp-contract=fast, and tcc; in float32 and float64; in train and in test mode.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

/// A network of `ActivationFusionTests` and the batchnorms that must be fused in it.
struct FusionCase: CustomStringConvertible, Sendable {
    var name: String
    var body: String
    var fused: [String]
    var description: String { name }

    func spec(_ dtype: DType) -> String {
        "model fuse\ninput x [4, 2, 5, 5]\ndtype \(dtype.rawValue)\n\(body)\nloss softmax\noptimizer sgd lr=0.1 momentum=0.9\n"
    }
}

@Suite struct ActivationFusionTests {
    static let cases: [FusionCase] = [
        // A spatial batchnorm (S = 25: the 16-lane sums and their tail) and a per-feature one.
        FusionCase(
            name: "chain",
            body: "conv c1 filters=3 size=3 pad=1\nbatchnorm bn1\nrelu r1\naffine fc out=6\nbatchnorm bn2\nrelu r2\naffine out out=3",
            fused: ["bn1", "bn2"]),
        // r1 is read by c2 and s (its gradient is a sum), c1 by bn1 and s (bn1's dx is added onto s's).
        FusionCase(
            name: "graph",
            body: "conv c1 filters=3 size=3 pad=1\nbatchnorm bn1\nrelu r1\nconv c2 filters=3 size=3 pad=1 from=r1\n"
                + "add s from=r1,c2,c1\naffine out out=3",
            fused: ["bn1"]),
        // Residual sums then relu (add fused): s sums three inputs (the network input's gradient NULL),
        // t two, one of them r2, whose gradient is t's plus c3's.
        FusionCase(
            name: "residual",
            body: "conv c1 filters=2 size=3 pad=1\nbatchnorm bn1\nrelu r1\nconv c2 filters=2 size=3 pad=1\n"
                + "add s from=c2,r1,x\nrelu r2\nconv c3 filters=2 size=3 pad=1\nadd t from=c3,r2\nrelu r3\naffine out out=3",
            fused: ["bn1", "s", "t"]),
        // The first layer fused: its backward gets no dx.
        FusionCase(
            name: "first",
            body: "batchnorm bn0\nrelu r0\naffine fc out=6\nbatchnorm bn2\nrelu r2\naffine out out=3", fused: ["bn0", "bn2"]),
    ]

    /// The driver: for train = 1 and 0, both ways on two copies of the memory, then a comparison. Prints
    /// `train T: same` or the first difference, and the share of relu outputs that are 0 (the mask must
    /// matter).
    static func driver(_ graph: ShapedGraph) -> String {
        let names = Names(model: graph.modelName)
        let count = graph.layers.count
        func output(_ index: Int) -> String { "\(names.macro(graph.layers[index].name + "_OUTPUT"))" }
        func value(_ source: TensorSource) -> String {
            switch source {
            case .input: "input"
            case .layer(let p): "b + \(output(p))"
            }
        }
        func gradient(_ source: TensorSource) -> String {
            switch source {
            case .input: "NULL"
            case .layer(let p): "d[\(p)]"
            }
        }
        // Every layer's own kernels, in the network's order; each backward writes (or, where its template's
        // DX_ACCUMULATE says so, adds) its inputs' gradients into d[source], as the network does into its slabs.
        var separateForward = ""
        var separateBackward = ""
        for layer in graph.layers {
            let function = "fuse_\(layer.name)"
            switch layer.definition.arity {
            case .unary:
                separateForward += "        \(function)_forward(b, \(value(layer.sources[0])), train, 5);\n"
            case .merge:
                let x = layer.sources.map(value).joined(separator: ", ")
                separateForward += "        { const REAL *const x[] = {\(x)}; \(function)_forward(b, x, train, 5); }\n"
            }
        }
        for (index, layer) in graph.layers.enumerated().reversed() {
            let function = "fuse_\(layer.name)"
            switch layer.definition.arity {
            case .unary:
                separateBackward +=
                    "        \(function)_backward(b, \(value(layer.sources[0])), d[\(index)], \(gradient(layer.sources[0])), train);\n"
            case .merge:
                let x = layer.sources.map(value).joined(separator: ", ")
                let dx = layer.sources.map(gradient).joined(separator: ", ")
                separateBackward +=
                    "        { const REAL *const x[] = {\(x)}; REAL *const dx[] = {\(dx)}; \(function)_backward(b, x, d[\(index)], dx, train); }\n"
            }
        }
        // Every output but the fused batchnorms': the network's forward does not store them.
        let fused = Set(MemoryPlan.plan(graph).fusions.map(\.producer))
        let outputs = graph.layers.indices.filter { !fused.contains($0) }
            .map { "{\(output($0)), \(graph.layers[$0].output.count)}" }.joined(separator: ", ")
        let relu = graph.layers.indices.filter { graph.layers[$0].kind == "relu" }
        let largest = graph.layers.map(\.output.count).max() ?? 1
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
                REAL *d[\(count)];
                for (int i = 0; i < \(count); i++) d[i] = allocate(\(largest));
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
                    for (int i = 0; i < \(count); i++) memset(d[i], 0, \(largest) * sizeof(REAL));
                    const double la = fuse_forward(a, input, target, train, 5);
                    fuse_backward(a, input, target, NULL, train);
            \(separateForward)        const double lb = fuse_loss_forward(b, b + \(output(count - 1)), target);
                    fuse_loss_backward(b, b + \(output(count - 1)), target, d[\(count - 1)]);
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
                            printf("train %d: output %d differs\\n", train, l);
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

    static let compilers: [[String]] = [
        ["gcc", "-std=c11", "-O3", "-march=native", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pthread"],
        ["clang", "-std=c11", "-O3", "-march=native", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pthread"],
        ["gcc", "-std=c11", "-O2", "-DNNGEN_SCALAR", "-Wall", "-Wextra", "-Werror", "-pthread"],
        // Contraction everywhere (nngen's --fma): the fused and the separate loops contract alike.
        ["gcc", "-std=c11", "-O3", "-march=native", "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror", "-pthread"],
        ["tcc", "-Wall", "-Werror", "-pthread"],
    ]

    @Test(arguments: cases, [DType.float32, .float64])
    func fusedCallsMatchTheLayersOwnKernels(network: FusionCase, dtype: DType) throws {
        let graph = try ShapeInference.load(network.spec(dtype), path: "fuse.spec")
        let plan = MemoryPlan.plan(graph)
        #expect(plan.fusions.map { graph.layers[$0.producer].name } == network.fused && plan.fusions.allSatisfy { $0.kind == "relu" })
        let directory = NSTemporaryDirectory() + "nngen-fuse-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try Emitter.emit(graph, plan: plan, templates: .embedded)
        try source.header.write(toFile: directory + "/fuse.h", atomically: true, encoding: .utf8)
        try source.source.write(toFile: directory + "/fuse.c", atomically: true, encoding: .utf8)
        try Self.driver(graph).write(toFile: directory + "/main.c", atomically: true, encoding: .utf8)
        for name in network.fused {
            let producer = try #require(graph.layers.firstIndex { $0.name == name })
            let activation = try #require(plan.fusion(producer: producer))
            #expect(source.source.contains("fuse_\(name)_forward_relu(mem"))
            #expect(!source.source.contains("fuse_\(graph.layers[activation.activation].name)_forward(mem"))
        }
        var ran = 0
        for (number, compiler) in Self.compilers.enumerated() where GeneratedCTests.available(compiler[0]) {
            let label = compiler.joined(separator: " ")
            let binary = directory + "/driver-\(number)"
            let build = GeneratedCTests.run(
                compiler + ["-I", directory, directory + "/main.c", directory + "/fuse.c", "-lm", "-o", binary])
            try #require(build.status == 0, "\(label): \(build.output)")
            let run = GeneratedCTests.run([binary])
            #expect(run.status == 0)
            #expect(run.output.contains("train 1: same") && run.output.contains("train 0: same"), "\(label): \(run.output)")
            let zeros = run.output.split(separator: "\n").last.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
            #expect(zeros > 0.2 && zeros < 0.8, "\(label): relu should zero part of its inputs: \(run.output)")
            ran += 1
        }
        #expect(ran > 0, "no C compiler is installed")
    }

    /// `CompiledModel.layerOutput` of a fused batchnorm: after a whole-network forward it reads its relu's
    /// output (the block both share; the batchnorm's own output is not stored), and after the batchnorm's own
    /// kernel, that kernel's output, whose negative values the relu would have zeroed.
    @Test(arguments: [DType.float32, .float64])
    func layerOutputOfAFusedBatchnorm(dtype: DType) throws {
        let spec =
            "model lo\ninput x [4, 2, 5, 5]\ndtype \(dtype.rawValue)\nconv c1 filters=3 size=3 pad=1\n"
            + "batchnorm bn1\nrelu r1\naffine out out=3\nloss softmax\n"
        let model = try CompiledModel(graph: try ShapeInference.load(spec, path: "lo.spec"))
        let index = { (name: String) in try #require(model.graph.layers.firstIndex { $0.name == name }) }
        let (conv, bn, relu) = (try index("c1"), try index("bn1"), try index("r1"))
        #expect(model.plan.fusion(producer: bn)?.activation == relu)
        model.initialize(seed: 1)
        var rng = SplitMix64(seed: 2)
        try model.stageInput((0..<model.graph.inputShape.count).map { _ in rng.normal() })
        try model.stageTarget(.classes([0, 1, 2, 0]))
        _ = model.stagedForward(mode: .train)
        let activated = model.layerOutput(relu)
        #expect(model.layerOutput(bn) == activated)
        let zeros = activated.filter { $0 == 0 }.count
        #expect(activated.allSatisfy { $0 >= 0 } && zeros > activated.count / 5 && zeros < activated.count * 4 / 5)

        let own = try model.layer("bn1").forward(model.layerOutput(conv), mode: .train)
        #expect(model.layerOutput(bn) == own)
        #expect(own.contains { $0 < 0 })
        #expect(own.map { max(0, $0) } == activated, "relu of the batchnorm's own output is what the fused forward stored")
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
        #expect(try fusions("batchnorm bn\nrelu r", forwardOnly: true) == ["bn+r"])
    }
}
