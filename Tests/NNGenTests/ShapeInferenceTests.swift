// TensorShape inference: names, defaults, shapes, parameter and FLOP counts, the layer table, and the memory plan.

import Testing

@testable import NNGen

/// The example of the spec contract (docs/spec.md).
let contractExample = """
    model fashion_mlp                 # optional; default: the file's base name
    input x [128, 1, 28, 28]          # static shape, batch first
    dtype float32
    affine    fc1 out=512
    batchnorm bn1
    relu
    affine    fc2 out=10
    loss softmax
    optimizer sgd lr=0.05 momentum=0.9
    """

@Suite struct ShapeInferenceTests {
    func load(_ text: String, path: String = "t.spec") throws -> ShapedGraph { try ShapeInference.load(text, path: path) }
    let tiny = "input x [2, 3]\naffine fc1 out=2\nloss softmax\n"

    /// The loss as headers and `nngen check` name it: its keyword, then the attributes not at their default.
    @Test func lossSpecTextNamesChangedAttributes() throws {
        #expect(try load(tiny).loss.specText == "softmax")
        #expect(try load("input x [2, 3]\naffine fc1 out=2\nloss softmax smoothing=0\n").loss.specText == "softmax")
        let smoothed = try load("model sm\ninput x [2, 3]\naffine fc1 out=2\nloss softmax smoothing=0.1\n")
        #expect(smoothed.loss.specText == "softmax smoothing=0.1")
        let header = try Emitter.emit(smoothed, plan: MemoryPlan.plan(smoothed), templates: .embedded).header
        #expect(header.contains("output [2, 2], loss softmax smoothing=0.1."), "\(header.prefix(400))")
        #expect(try load("input x [2, 3]\naffine fc1 out=2\nloss svm\n").loss.specText == "svm")
    }

    @Test func theContractExample() throws {
        let graph = try load(contractExample, path: "examples/fashion_mlp.spec")
        #expect(graph.modelName == "fashion_mlp")
        #expect(graph.file == "examples/fashion_mlp.spec")
        #expect(graph.inputName == "x")
        #expect(graph.inputShape == [128, 1, 28, 28])
        #expect(graph.batch == 128)
        #expect(graph.layers.map(\.name) == ["fc1", "bn1", "relu1", "fc2"])
        #expect(graph.layers.map(\.kind) == ["affine", "batchnorm", "relu", "affine"])
        #expect(graph.layers.map(\.input) == [[128, 1, 28, 28], [128, 512], [128, 512], [128, 512]])
        #expect(graph.layers.map(\.output) == [[128, 512], [128, 512], [128, 512], [128, 10]])
        #expect(graph.outputShape == [128, 10])
        #expect(graph.loss.input == [128, 10])
        #expect(graph.loss.definition.target == .classIndices)
        #expect(graph.layers.map(\.location.line) == [4, 5, 6, 7])
    }

    @Test func parametersAndBuffersWithTheirShapesAndInitializers() throws {
        let graph = try load(contractExample)
        let fc1 = try #require(graph.layer(named: "fc1"))
        #expect(fc1.instance.parameters.map(\.suffix) == ["weight", "bias"])
        #expect(fc1.instance.parameters.map(\.shape) == [[784, 512], [512]])
        #expect(fc1.instance.parameters.map(\.initializer) == [.he, .zeros])
        #expect(fc1.instance.parameters[0].fanIn == 784)
        let bn1 = try #require(graph.layer(named: "bn1"))
        #expect(bn1.instance.parameters.map(\.suffix) == ["gamma", "beta"])
        #expect(bn1.instance.parameters.map(\.shape) == [[512], [512]])
        #expect(bn1.instance.parameters.map(\.initializer) == [.ones, .zeros])
        #expect(bn1.instance.buffers.map(\.suffix) == ["running_mean", "running_var"])
        #expect(bn1.instance.buffers.map(\.initializer) == [.zeros, .ones])
        let relu = try #require(graph.layer(named: "relu1"))
        #expect(relu.instance.parameters.isEmpty && relu.instance.buffers.isEmpty)
        let names = MemoryPlan.plan(graph).tensors.map(\.name)
        #expect(
            names == [
                "fc1.weight", "fc1.bias", "bn1.gamma", "bn1.beta", "fc2.weight", "fc2.bias",
                "bn1.running_mean", "bn1.running_var",
            ])
    }

    @Test func parameterCounts() throws {
        let graph = try load(contractExample)
        let (n, d, m, c, k) = (128, 784, 512, 512, 10)
        #expect(graph.layers.map(\.parameterCount) == [d * m + m, 2 * c, 0, m * k + k])
        #expect(graph.parameterCount == 401_920 + 1_024 + 5_130)
        // affine: 2NDM multiply-adds and NM bias adds.
        #expect(graph.layers[0].instance.forwardFLOPs == 2 * n * d * m + n * m)
        #expect(graph.layers[3].instance.forwardFLOPs == 2 * n * m * k + n * k)
        #expect(graph.layers[2].instance.forwardFLOPs == n * m)
    }

    @Test func defaultLayerNamesCountPerKind() throws {
        let graph = try load(
            """
            input x [4, 6]
            affine fc1 out=5
            relu
            affine fc2 out=5
            relu
            affine out=3
            batchnorm
            """ + "\nloss softmax")
        #expect(graph.layers.map(\.name) == ["fc1", "relu1", "fc2", "relu2", "affine3", "batchnorm1"])
    }

    @Test func anExplicitNameDoesNotShiftTheAutomaticOnes() throws {
        let graph = try load("input x [4, 6]\nrelu first\nrelu\naffine out=3\nloss softmax")
        #expect(graph.layers.map(\.name) == ["first", "relu2", "affine1"])
    }

    @Test func defaultAttributes() throws {
        let graph = try load("input x [4, 6]\nbatchnorm\naffine fc1 out=3\nbatchnorm bn2 momentum=0.5\nloss softmax\noptimizer sgd lr=0.1")
        let bn1 = graph.layers[0]
        #expect(bn1.attributes.double("eps") == 1e-5)
        #expect(bn1.attributes.double("momentum") == 0.9)
        #expect(!bn1.attributes.isGiven("momentum"))
        #expect(graph.layers[2].attributes.double("momentum") == 0.5)
        #expect(graph.layers[1].attributes.initializer("init") == .he)
        let sgd = try #require(graph.optimizer)
        #expect(sgd.instance.learningRate == 0.1)
        #expect(sgd.instance.stateSlots == 0, "no momentum: plain SGD keeps no state")
        #expect(graph.schedule == .constant)
    }

    @Test func dtypeDefaultsToFloat32() throws {
        #expect(try load(tiny).dtype == .float32)
        #expect(try load("dtype float64\n" + tiny).dtype == .float64)
    }

    @Test func modelNameDefaultsToTheFileNameAsACIdentifier() throws {
        #expect(try load(tiny, path: "examples/fashion_mlp.spec").modelName == "fashion_mlp")
        #expect(try load(tiny, path: "examples/My-Net.spec").modelName == "My_Net")
        #expect(try load(tiny, path: "3layer.spec").modelName == "m_3layer")
        #expect(try load(tiny, path: "/a/b.c/net.v2.spec").modelName == "net_v2")
        #expect(try load("model given\n" + tiny, path: "other.spec").modelName == "given")
        for path in ["examples/My-Net.spec", "3layer.spec", "é.spec", ".spec", "x"] {
            #expect(SpecParser.isIdentifier(ShapeInference.baseName(path)), "\(path)")
        }
    }

    @Test func spatialBatchnormIsPerChannel() throws {
        let graph = try load("input x [4, 2, 3, 3]\nbatchnorm bn0\naffine fc1 out=7\nloss softmax")
        let bn0 = graph.layers[0]
        #expect(bn0.output == [4, 2, 3, 3])
        #expect(bn0.instance.parameters.map(\.shape) == [[2], [2]])
        #expect(bn0.parameterCount == 2 * 2)
        #expect(graph.layers[1].instance.parameters[0].shape == [18, 7])
    }

    @Test func optimizerScheduleModelAndDtypeMayStandAnywhere() throws {
        let graph = try load(
            "schedule step every=3 gamma=0.5\noptimizer sgd lr=0.05 momentum=0.9 weight_decay=1e-4\n" + tiny + "dtype float64\nmodel late")
        #expect(graph.schedule == .step(every: 3, gamma: 0.5))
        #expect(graph.optimizer?.instance.stateSlots == 1)
        #expect(graph.modelName == "late")
        #expect(graph.dtype == .float64)
        #expect(try load(tiny + "optimizer sgd lr=1\nschedule cosine").schedule == .cosine)
    }

    @Test func anEmptyTextIsAWholeFileError() {
        let thrown = #expect(throws: Diagnostic.self) { try load("", path: "empty.spec") }
        #expect(thrown?.location?.line == 0)
        #expect(thrown?.description.hasPrefix("empty.spec: error: the spec has no statements") == true)
    }

    @Test func errorsFromInferenceCarryTheSourceLine() {
        let thrown = #expect(throws: Diagnostic.self) {
            try load("input x [2, 3]\naffine fc1 out=2\nloss softmax\n\toptimizer sgd lr=0.1 momentum=1")
        }
        #expect(thrown?.sourceLine == " optimizer sgd lr=0.1 momentum=1")
        #expect(thrown?.location?.line == 4)
    }

    @Test func theFirstProblemInTheFileIsReported() {
        // Line 2 has a bad attribute, line 4 a second loss: line 2 wins.
        let thrown = #expect(throws: Diagnostic.self) { try load("input x [2, 3]\naffine fc1 out=0\nloss softmax\nloss softmax") }
        #expect(thrown?.location?.line == 2)
    }

    @Test func layerTableGolden() throws {
        let graph = try load("input x [4, 2, 3, 3]\nbatchnorm bn0\naffine fc1 out=7\nrelu\naffine fc2 out=5\nloss softmax")
        #expect(
            LayerTable.render(graph) == """
                layer  kind       input         output        params  forward FLOPs
                bn0    batchnorm  [4, 2, 3, 3]  [4, 2, 3, 3]       4            576
                fc1    affine     [4, 2, 3, 3]  [4, 7]           133          1,036
                relu1  relu       [4, 7]        [4, 7]             0             28
                fc2    affine     [4, 7]        [4, 5]            40            300
                loss   softmax    [4, 5]        [1]                0             80
                -------------------------------------------------------------------
                total             [4, 2, 3, 3]  [4, 5]           177          2,020
                """)
    }
}

@Suite struct MemoryPlanTests {
    static let specs = [
        contractExample,
        "input x [4, 2, 3, 3]\nbatchnorm bn0\naffine fc1 out=7\nbatchnorm bn1\nrelu\naffine fc2 out=5\nloss softmax\noptimizer sgd lr=0.1 momentum=0.9",
        "input x [1, 1]\naffine fc1 out=2\nloss softmax",
        "input x [3, 65]\naffine fc1 out=63\nrelu\naffine fc2 out=64\nbatchnorm\naffine fc3 out=2\nloss softmax\noptimizer sgd lr=0.1",
        // Graphs: a residual block, a tensor read three times, a skip over a stage, an add of a tensor with itself.
        "input x [3, 6]\naffine fc1 out=6\nrelu r1\naffine fc2 out=6\nadd s from=fc2,x\nrelu\naffine out out=3\nloss softmax",
        "input x [2, 5]\naffine a out=40\nrelu r1 from=a\ntanh t1 from=a\nsigmoid s1 from=a\nadd m from=r1,t1,s1\naffine out=3\nloss softmax",
        "input x [2, 2, 6, 6]\nconv c1 filters=4 size=3 pad=1\nrelu r1\nconv c2 filters=4 size=3 pad=1\nrelu r2\n"
            + "conv c3 filters=4 size=3 pad=1\nadd skip from=c3,r1\nmaxpool p size=2\naffine fc out=3\nloss softmax",
        "input x [2, 5]\naffine a out=4\nadd d from=a,a\nconcat j from=d,a,x\naffine out=3\nloss softmax",
    ]

    @Test(arguments: specs.indices)
    func invariants(index: Int) throws {
        let graph = try ShapeInference.load(Self.specs[index], path: "t.spec")
        let plan = MemoryPlan.plan(graph)
        let a = MemoryPlan.alignment
        #expect(a == 64)

        // Every tensor, output, saved array and gradient buffer starts on a 64-element boundary.
        var starts = plan.tensors.map(\.offset) + plan.layers.map(\.output) + plan.layers.flatMap(\.saved.values)
        starts += Array(plan.lossSaved.values) + plan.gradientSlabs.map(\.offset)
        starts += [plan.parameters, plan.gradients, plan.buffers, plan.optimizerState, plan.activations].map(\.offset)
        #expect(starts.allSatisfy { $0 % a == 0 })

        // Regions follow each other without overlap, and the total covers them all.
        let regions = [plan.parameters, plan.gradients, plan.buffers, plan.optimizerState, plan.activations]
        for (earlier, later) in zip(regions, regions.dropFirst()) { #expect(earlier.offset + earlier.count <= later.offset) }
        #expect(plan.parameters.offset == 0)
        #expect(plan.gradients.count == plan.parameters.count)
        #expect(plan.optimizerState.count == plan.stateSlots * plan.parameters.count)
        #expect(plan.activations.offset + plan.activations.count == plan.total)

        // Every array lies in its region, and no two arrays overlap.
        func inside(_ offset: Int, _ count: Int, _ region: MemoryRegion) -> Bool {
            offset >= region.offset && offset + count <= region.offset + region.count
        }
        var ranges: [(Int, Int)] = []
        for t in plan.tensors {
            #expect(inside(t.offset, t.count, t.role == .parameter ? plan.parameters : plan.buffers), "\(t.name)")
            ranges.append((t.offset, t.count))
            if t.role == .parameter {
                let g = plan.gradientOffset(of: t)
                #expect(g == t.offset + plan.parameters.count)
                #expect(inside(g, t.count, plan.gradients))
                ranges.append((g, t.count))
                for slot in 0..<plan.stateSlots {
                    let s = plan.stateOffset(of: t, slot: slot)
                    #expect(inside(s, t.count, plan.optimizerState))
                    ranges.append((s, t.count))
                }
            }
        }
        for (index, (layer, slots)) in zip(graph.layers, plan.layers).enumerated() {
            #expect(inside(slots.output, layer.output.count, plan.activations))
            if let fusion = plan.fusion(producer: index) {
                // A fused producer's output shares its activation's block (same shape: relu is elementwise).
                #expect(slots.output == plan.layers[fusion.activation].output)
                #expect(layer.output == graph.layers[fusion.activation].output)
            } else {
                ranges.append((slots.output, layer.output.count))
            }
            for s in layer.instance.saved {
                let offset = try #require(slots.saved[s.name])
                #expect(inside(offset, s.count, plan.activations))
                ranges.append((offset, s.count))
            }
        }
        for s in graph.loss.instance.saved {
            let offset = try #require(plan.lossSaved[s.name])
            ranges.append((offset, s.count))
        }
        let largest = graph.layers.map(\.output.count).max() ?? 0
        if graph.isChain && graph.layers.count >= 2 {
            // A chain needs two slabs, as the classic ping-pong buffers, each no larger than the largest output.
            #expect(plan.gradientSlabs.count == 2)
            #expect(plan.gradientSlabs.allSatisfy { $0.count <= largest })
        }
        ranges += plan.gradientSlabs.map { ($0.offset, $0.count) }
        expectGradientLiveness(graph, plan)
        let sorted = ranges.sorted { $0.0 < $1.0 }
        for (x, y) in zip(sorted, sorted.dropFirst()) { #expect(x.0 + x.1 <= y.0, "[\(x.0), +\(x.1)) overlaps [\(y.0), +\(y.1))") }
        #expect(sorted.allSatisfy { $0.0 + $0.1 <= plan.total })

        #expect(plan.parameterTensors.map(\.count).reduce(0, +) == graph.parameterCount)
        #expect(plan.outputOffset == plan.layers.last?.output)
    }
}

/// Two gradients that are alive at the same time during backward never share a slab, and each fits its slab.
/// Backward runs the loss at time 0 and layer i at time L − i; the gradient of layer p's output is alive from
/// its first write (its last reader, or the loss) to p's own backward. With a fusion, the activation's
/// gradient is alive to its producer's backward (which reads it), and the producer's is never written.
func expectGradientLiveness(_ graph: ShapedGraph, _ plan: MemoryPlan, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    let count = graph.layers.count
    func interval(_ p: Int) -> ClosedRange<Int> {
        let readers = graph.layers.indices.filter { graph.layers[$0].sources.contains(.layer(p)) }
        let born = readers.max().map { count - $0 } ?? 0
        if plan.fusion(producer: p) != nil { return born...born }
        if let fusion = plan.fusion(activation: p) { return born...(count - fusion.producer) }
        return born...(count - p)
    }
    for p in 0..<count {
        let slab = plan.gradientSlabs.first { $0.offset == plan.layers[p].gradient }
        #expect(
            slab.map { $0.count >= graph.layers[p].output.count } == true, "d\(graph.layers[p].name) fits no slab",
            sourceLocation: sourceLocation)
        for q in 0..<p where plan.layers[q].gradient == plan.layers[p].gradient {
            #expect(
                !interval(p).overlaps(interval(q)),
                "d\(graph.layers[p].name) and d\(graph.layers[q].name) share a slab while both are alive",
                sourceLocation: sourceLocation)
        }
    }
}
