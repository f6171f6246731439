// Forward-only builds (`nngen compile --inference [--batch B]`): no backward pass, gradients or optimizer
// state; activations share memory by liveness. Each example and a residual graph, at its own batch and at
// batch 1, built with gcc (ASan + UBSan) and tcc: it loads a training checkpoint (optimizer state
// included, which it skips) and predicts what the training build predicts, bit for bit.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite(.serialized) struct InferenceBuildTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// A graph with a skip connection (its sum and relu fused), a concat of the input, a tensor read three
    /// times, dropout and pooling: the liveness plan must keep each tensor until its last reader.
    static let residual = """
        model resinf
        input x [3, 2, 6, 6]
        conv c1 filters=4 size=3 pad=1 bias=false
        batchnorm b1
        relu r1
        conv c2 filters=4 size=3 pad=1
        add s1 from=r1,c2
        relu rs
        concat k from=rs,x,r1
        dropout d keep=0.7
        maxpool p size=2
        avgpool q size=3 from=d
        globalavgpool g from=p
        globalavgpool h from=q
        concat gh from=g,h
        affine fc out=5
        loss softmax
        optimizer adam lr=0.01
        """

    static func specs() throws -> [(name: String, text: String)] {
        var specs = try ["fashion_mlp", "fashion_cnn", "tiny_f64"].map { name in
            (name: "examples/\(name).spec", text: try String(contentsOfFile: root + "/examples/\(name).spec", encoding: .utf8))
        }
        specs.append((name: "resinf.spec", text: residual))
        return specs
    }

    /// `driver PARAMS INPUT OUTPUT COUNT`: loads PARAMS, predicts COUNT preprocessed samples (raw reals) in
    /// batches, writes the outputs.
    static func driver(_ m: String, real: String) -> String {
        let macro = m.uppercased()
        return """
            #include "\(m).h"
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>

            int main(int argc, char **argv) {
                if (argc != 5) return 2;
                const long count = atol(argv[4]), features = \(macro)_INPUT_SIZE / \(macro)_BATCH;
                const long outputs = \(macro)_OUTPUT_SIZE / \(macro)_BATCH;
                \(real) *mem = aligned_alloc(64, (sizeof(\(real)) * \(macro)_MEM_SIZE + 63) / 64 * 64);
                \(real) *input = malloc(sizeof(\(real)) * (size_t)(count * features));
                \(real) *out = malloc(sizeof(\(real)) * (size_t)(count * outputs));
                if (!mem || !input || !out || count % \(macro)_BATCH) return 3;
                memset(mem, 0, sizeof(\(real)) * \(macro)_MEM_SIZE);
            #ifdef EMBEDDED
                int code = \(m)_init_embedded(mem);
            #else
                int code = \(m)_load_file(mem, argv[1]);
            #endif
                if (code) {
                    printf("load: %s\\n", \(m)_error(code));
                    return 4;
                }
                FILE *f = fopen(argv[2], "rb");
                if (!f || fread(input, sizeof(\(real)), (size_t)(count * features), f) != (size_t)(count * features)) return 5;
                fclose(f);
                for (long start = 0; start < count; start += \(macro)_BATCH)
                    \(m)_predict(mem, input + start * features, out + start * outputs);
                FILE *o = fopen(argv[3], "wb");
                if (!o || fwrite(out, sizeof(\(real)), (size_t)(count * outputs), o) != (size_t)(count * outputs)) return 6;
                fclose(o);
                free(mem);
                free(input);
                free(out);
                return 0;
            }
            """
    }

    @Test func forwardOnlyPlansShareNothingAliveAtOnce() throws {
        for spec in try Self.specs() {
            for batch in [nil, 1] {
                let graph = try ShapeInference.load(spec.text, path: spec.name, batch: batch, forwardOnly: true)
                let plan = MemoryPlan.planForward(graph)
                let training = MemoryPlan.plan(try ShapeInference.load(spec.text, path: spec.name))
                #expect(plan.forwardOnly && plan.gradientSlabs.isEmpty && plan.optimizerState.count == 0)
                #expect(plan.parameters == training.parameters, "parameters keep their offsets: \(spec.name)")
                if batch == nil { #expect(plan.total < training.total, "\(spec.name)") }
                // Every block with the times it is alive; blocks alive at the same time must not overlap.
                var blocks: [(range: Range<Int>, first: Int, last: Int, what: String)] = []
                let count = graph.layers.count
                for (index, layer) in graph.layers.enumerated() {
                    let readers = graph.layers.indices.filter { graph.layers[$0].sources.contains(.layer(index)) }
                    let last = index == count - 1 ? count : (readers.max() ?? index)
                    let out = plan.layers[index].output
                    if let fusion = plan.fusion(producer: index) {
                        // never written by forward: its slot is the activation's output, which the fused call writes
                        #expect(out == plan.layers[fusion.activation].output, "\(spec.name): \(layer.name)")
                    } else {
                        // an output written by a fused call is alive from the producer's time
                        let first = plan.fusion(activation: index)?.producer ?? index
                        blocks.append((out..<out + layer.output.count, first, last, "\(layer.name) output"))
                    }
                    for saved in layer.instance.saved where !saved.backwardOnly {
                        let at = try #require(plan.layers[index].saved[saved.name])
                        blocks.append((at..<at + saved.count, index, index, "\(layer.name) \(saved.name)"))
                    }
                    #expect(out >= plan.activations.offset && out + layer.output.count <= plan.total)
                }
                for (i, a) in blocks.enumerated() {
                    for b in blocks[(i + 1)...] where a.first <= b.last && b.first <= a.last {
                        #expect(!a.range.overlaps(b.range), "\(spec.name): \(a.what) and \(b.what) are alive together")
                    }
                }
            }
        }
        // A chain reuses: fashion_mlp's forward needs at most two outputs and one layer's scratch at a time,
        // and its batchnorms are fused with their relus.
        let mlp = try ShapeInference.load(try Self.specs()[0].text, path: "fashion_mlp.spec", forwardOnly: true)
        let plan = MemoryPlan.planForward(mlp)
        #expect(plan.activations.count <= 2 * 128 * 512 + 2 * 512 + 3 * 64 + 1280)
        #expect(plan.fusions.count == 2)
    }

    @Test(arguments: ["gcc", "tcc"])
    func inferenceBuildPredictsAsTheTrainingBuild(compiler: String) throws {
        try #require(GeneratedCTests.available(compiler), "\(compiler) is not installed")
        for spec in try Self.specs() {
            let trainingGraph = try ShapeInference.load(spec.text, path: spec.name)
            let model = try CompiledModel(graph: trainingGraph)
            model.initialize(seed: 5)
            var rng = SplitMix64(seed: 11)
            for name in model.tensorNames {
                let values = (0..<(try model.shape(of: name).count)).map { _ in rng.normal() }
                // Running variances stay positive; everything else random, so test mode matters.
                try model.setTensor(name, name.hasSuffix("running_var") ? values.map { 0.5 + abs($0) } : values)
            }
            let directory = NSTemporaryDirectory() + "nngen-inference-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let checkpoint = directory + "/ck.safetensors"
            try Safetensors.write(model.exportTensors() + model.exportOptimizerState(), to: checkpoint)

            let samples = 2 * trainingGraph.batch
            let features = trainingGraph.inputShape.featureCount
            let input = (0..<samples * features).map { _ in rng.normal() }
            let expected = try model.predictProbabilities(input, count: samples)
            let real = trainingGraph.dtype.cType
            let bytes =
                trainingGraph.dtype == .float32
                ? input.map(Float.init).withUnsafeBufferPointer { Data(buffer: $0) }
                : input.withUnsafeBufferPointer { Data(buffer: $0) }
            try bytes.write(to: URL(fileURLWithPath: directory + "/input.bin"))

            // At the spec's batch from the checkpoint file; at batch 1 with the weights compiled in.
            for batch in [trainingGraph.batch, 1] {
                let graph = try ShapeInference.load(spec.text, path: spec.name, batch: batch, forwardOnly: true)
                let m = graph.modelName
                let plan = MemoryPlan.planForward(graph)
                let embedded =
                    batch == 1
                    ? EmbeddedWeights(
                        values: try CompiledModel.checkedTensors(
                            model.exportTensors(), plan: plan, modelName: m, dtype: graph.dtype, origin: "ck.safetensors"),
                        origin: "ck.safetensors")
                    : nil
                let source = try Emitter.emit(graph, plan: plan, templates: .embedded, options: EmitOptions(embeddedWeights: embedded))
                #expect(!source.header.contains("_backward(") && !source.header.contains("_train_step("))
                #expect(!source.source.contains("_backward(") && !source.source.contains("update("), "\(spec.name)")
                try source.header.write(toFile: "\(directory)/\(m).h", atomically: true, encoding: .utf8)
                try source.source.write(toFile: "\(directory)/\(m).c", atomically: true, encoding: .utf8)
                try Self.driver(m, real: real).write(toFile: directory + "/main.c", atomically: true, encoding: .utf8)
                let flags =
                    compiler == "tcc"
                    ? ["-std=c11"]
                    : [
                        "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fsanitize=address,undefined",
                        "-fno-sanitize-recover=all", "-pthread",
                    ]
                let build = GeneratedCTests.run(
                    [compiler] + flags + (embedded == nil ? [] : ["-DEMBEDDED"]) + [
                        "-I", directory, directory + "/main.c", "\(directory)/\(m).c", "-lm", "-o", directory + "/driver",
                    ])
                try #require(build.status == 0, "\(spec.name) batch \(batch): \(build.output)")
                let run = GeneratedCTests.run([
                    directory + "/driver", checkpoint, directory + "/input.bin", directory + "/out.bin", String(samples),
                ])
                try #require(run.status == 0, "\(spec.name) batch \(batch): \(run.output)")
                let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/out.bin"))
                let got: [Double] =
                    trainingGraph.dtype == .float32
                    ? data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)).map(Double.init) }
                    : data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
                #expect(got.count == expected.count)
                // The training build's probabilities in the model's dtype (predictProbabilities returns doubles).
                let rounded = trainingGraph.dtype == .float32 ? expected.map { Double(Float($0)) } : expected
                let mismatches = zip(got, rounded).filter { $0 != $1 }.count
                #expect(mismatches == 0, "\(spec.name) batch \(batch), \(compiler): \(mismatches) of \(got.count) outputs differ")
            }
        }
    }
}
