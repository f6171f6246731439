// The optimized kernels (SIMD GEMM tiles and worker threads, compiled by the system compiler) compute
// exactly what the scalar kernels compute under tcc, on awkward shapes, for any thread count.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

/// The cc backend's flags, plus NNGEN_PARALLEL_WORK=0: GEMMs of any size go through the thread pool (by
/// default, those under 262144 multiply-adds stay on the calling thread). Cached across runs (a second run
/// compiles nothing), apart from other suites' caches.
private let kernelCache = CCOptions(
    flags: CCOptions.defaultFlags + ["-DNNGEN_PARALLEL_WORK=0"],
    cacheDirectory: NSTemporaryDirectory() + "nngen-kernel-tests-\(getuid())")

/// The same for the AVX2 path (`-march=x86-64-v3`: 16 vector registers, the 4 × 3 register tile, vmaskmov
/// instead of mask registers), which CPUs without AVX-512 run.
private let avx2KernelCache = CCOptions(
    flags: CCOptions.defaultFlags.map { $0 == "-march=native" ? "-march=x86-64-v3" : $0 } + ["-DNNGEN_PARALLEL_WORK=0"],
    cacheDirectory: NSTemporaryDirectory() + "nngen-kernel-tests-\(getuid())")

/// True on an x86 CPU with AVX-512, AVX2 and FMA: there `-march=native` builds the AVX-512 path, and the AVX2
/// path can run too (on a CPU without AVX-512 the native build is the AVX2 path already).
private let runsBothX86Paths: Bool = {
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return false }
    let words = Set(flags.split(separator: " ").map(String.init))
    return words.isSuperset(of: ["avx512f", "avx2", "fma"])
}()

/// A network (its input shape and layers) for the cc-vs-tcc comparison, in the listed dtypes.
struct KernelCase: Sendable, CustomStringConvertible {
    var name: String
    var body: String
    var dtypes: [DType]
    var description: String { name }

    func spec(_ dtype: DType) -> String {
        "model \(name)_\(dtype == .float32 ? "f32" : "f64")\ninput x \(body)\ndtype \(dtype.rawValue)\n"
    }
}

/// Networks of affine layers whose GEMMs have every awkward size: rows, columns and depth of 1, 3, 7, 13,
/// 33 (no multiple of a vector or of a register tile), and the W1 first layer (128×784 → 512).
private let affineCases: [KernelCase] = [
    KernelCase(
        name: "odd_sizes",
        body: """
            [13, 7]
            affine fc1 out=3
            relu
            affine fc2 out=1
            affine fc3 out=33
            relu
            affine fc4 out=13
            loss softmax
            optimizer sgd lr=0.1 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "one_sample",
        body: """
            [1, 3]
            affine fc1 out=7
            affine fc2 out=1
            affine fc3 out=2
            loss softmax
            optimizer sgd lr=0.1
            """, dtypes: DType.allCases),
    KernelCase(
        name: "images",
        body: """
            [33, 2, 3, 3]
            affine fc1 out=17
            batchnorm bn1
            relu
            affine fc2 out=3
            loss softmax
            optimizer sgd lr=0.1 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "w1_first_layer",
        body: """
            [128, 784]
            affine fc1 out=512
            relu
            affine fc2 out=10
            loss softmax
            optimizer sgd lr=0.05 momentum=0.9
            """, dtypes: [.float32]),
]

/// Networks of conv layers (GEMMs per sample over im2col matrices, dW and db summed over the batch, dx by
/// groups of samples, spatial batchnorm by channels): strides 1 and 2, pads 0 and 1, kernels 1×1, 3×3 and
/// 3×2, channel and filter counts that are no multiple of a vector, batches of 1, 2 and 3, stride-2 rows
/// shorter and longer than a vector, and the input gradient of the first conv (the training step skips it;
/// `exercise` asks for it).
private let convCases: [KernelCase] = [
    KernelCase(
        name: "conv_batch3",
        body: """
            [3, 5, 9, 8]
            conv c1 filters=17 size=3 stride=1 pad=1
            batchnorm bn1
            relu
            conv c2 filters=7 size=3x2 stride=2 pad=1
            affine fc out=3
            loss softmax
            optimizer sgd lr=0.1 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "conv_batch1",
        body: """
            [1, 3, 7, 7]
            conv c1 filters=5 size=1
            relu
            conv c2 filters=33 size=3 stride=2 pad=0
            batchnorm bn2
            affine fc out=4
            loss softmax
            optimizer sgd lr=0.1
            """, dtypes: DType.allCases),
    KernelCase(
        name: "conv_batch2",
        body: """
            [2, 2, 13, 11]
            conv c1 filters=3 size=3x2 stride=2 pad=1
            batchnorm bn1
            tanh
            conv c2 filters=19 size=3 stride=1 pad=0
            relu
            affine fc out=5
            loss softmax
            optimizer sgd lr=0.1 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "conv_w2_shapes",  // W2's layers on a smaller batch: 784 and 49 positions, 16 to 64 filters
        body: """
            [3, 1, 28, 28]
            conv c1 filters=16 size=3 stride=1 pad=1
            batchnorm bn1
            relu
            conv c2 filters=32 size=3 stride=2 pad=1
            relu
            conv c3 filters=64 size=3 stride=2 pad=1
            batchnorm bn3
            relu
            affine fc out=10
            loss softmax
            optimizer sgd lr=0.05 momentum=0.9
            """, dtypes: [.float32]),
    KernelCase(
        name: "conv_window",  // stride 1 through the padded copy (WINDOW): dilated, non-square, rows of several panels
        body: """
            [2, 4, 11, 37]
            conv c1 filters=9 size=3 dilation=2 pad=2
            relu
            conv c2 filters=5 size=5x3 pad=1x2 bias=false
            affine fc out=3
            loss softmax
            optimizer sgd lr=0.1 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "conv_1x1_pad3",  // GCC 12.2's -O3 vectorizer zeroed the first image row of this im2col (conv.c)
        body: """
            [1, 1, 5, 5]
            conv c filters=1 size=1 stride=1 pad=3
            affine fc out=2
            loss softmax
            optimizer sgd lr=0.1
            """, dtypes: DType.allCases),
    KernelCase(
        name: "conv_wide_stride2",  // stride-2 rows longer than a vector (35 and 18 outputs): im2col/col2im by vectors
        body: """
            [2, 3, 9, 70]
            conv c1 filters=4 size=3 stride=2 pad=1
            relu
            conv c2 filters=5 size=3 stride=2 pad=2 dilation=2
            affine fc out=3
            loss softmax
            optimizer sgd lr=0.1 momentum=0.9
            """, dtypes: DType.allCases),
]

/// Grouped (and depthwise), dilated and bias-free convolutions, non-square strides and pads, PyTorch's floor,
/// and graphs: a residual block whose shortcut adds into a gradient (DX_ACCUMULATE), concat and a three-way add.
private let graphAndGeometryCases: [KernelCase] = [
    KernelCase(
        name: "conv_groups",
        body: """
            [3, 6, 9, 8]
            conv c1 filters=12 size=3 stride=1 pad=1 groups=3
            relu
            conv c1b filters=24 size=1 groups=3
            conv c2 filters=12 size=3 stride=2 pad=1 groups=12 bias=false
            conv c3 filters=5 size=3x2 dilation=2x1 pad=2x0 stride=2x1
            leakyrelu
            avgpool p size=2 pad=1 count_pad=false
            gelu
            affine fc out=3
            loss softmax
            optimizer adamw lr=0.01
            """, dtypes: DType.allCases),
    KernelCase(
        name: "residual",
        body: """
            [3, 4, 8, 8]
            conv c1 filters=8 size=3 stride=2 pad=1
            batchnorm b1
            relu r1
            conv c2 filters=8 size=3 pad=1 bias=false
            conv proj filters=8 size=1 stride=2 from=x
            add s from=c2,proj
            relu r2
            concat j from=r2,r1
            conv c3 filters=3 size=3 stride=2
            add t from=c3,c3,c3
            affine fc out=4
            loss softmax
            optimizer adam lr=0.01
            """, dtypes: DType.allCases),
    KernelCase(
        name: "wide_elementwise",  // 131072 elements: relu, add and batchnorm run in ranges on the pool
        body: """
            [8, 16, 32, 32]
            relu r0
            add s from=r0,x
            add t from=s,s,r0
            batchnorm b1
            relu r1
            affine fc out=4
            loss softmax
            optimizer sgd lr=0.01 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "wide_activations",  // 32768 elements, each a call of erf, exp or tanh: ranges on the pool
        body: """
            [8, 16, 16, 16]
            gelu g
            sigmoid s
            tanh t
            leakyrelu l slope=0.1
            affine fc out=4
            loss softmax
            optimizer sgd lr=0.01 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "wide_pooling",  // 131072 inputs each: max pooling's planes in ranges on the pool
        body: """
            [8, 16, 32, 32]
            relu r0
            maxpool p1 size=3 stride=1 pad=1
            maxpool p2 size=2
            affine fc out=4
            loss softmax
            optimizer sgd lr=0.01 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "wide_layernorm",  // 64 samples of 2048 features: layernorm's samples and features in ranges on the pool
        body: """
            [64, 2048]
            layernorm ln
            gelu g
            affine fc out=4
            loss softmax
            optimizer sgd lr=0.01 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        // 512 planes of 32 × 32: average pooling's planes, groupnorm's groups and channels, dropout's elements on the pool
        name: "wide_pool_norm",
        body: """
            [16, 32, 32, 32]
            groupnorm gn groups=4
            dropout d keep=0.7
            avgpool p1 size=3 stride=1 pad=1
            avgpool p2 size=2 count_pad=false
            groupnorm gn2 groups=32
            globalavgpool p3
            affine fc out=4
            loss softmax
            optimizer sgd lr=0.01 momentum=0.9
            """, dtypes: DType.allCases),
    KernelCase(
        name: "shared_features",
        body: """
            [5, 13]
            affine fc1 out=33
            affine a from=fc1 out=7 bias=false
            affine b from=fc1 out=7
            affine c from=x out=7
            add s from=a,b,c
            loss softmax
            optimizer rmsprop lr=0.01 weight_decay=0.01
            """, dtypes: DType.allCases),
]

private let caseArguments: [(KernelCase, DType)] = (affineCases + convCases + graphAndGeometryCases).flatMap { c in
    c.dtypes.map { (c, $0) }
}

/// Every number of a model after forward + backward (train mode, with the input gradient) and after two
/// training steps, by name.
private func exercise(_ model: CompiledModel) throws -> [String: [Double]] {
    model.initialize(seed: 3)
    var rng = SplitMix64(seed: 5)
    for name in model.parameterNames {  // non-zero biases too: the forward GEMM starts from the bias
        let count = try model.shape(of: name).count
        try model.setTensor(name, (0..<count).map { _ in 0.5 * rng.normal() })
    }
    try model.stageInput((0..<model.graph.inputShape.count).map { _ in rng.normal() })
    let classes = model.graph.outputShape[1]
    try model.stageTarget(.classes((0..<model.graph.batch).map { Int32(($0 * 5 + 1) % classes) }))

    var values: [String: [Double]] = [:]
    values["loss"] = [model.stagedForward(mode: .train, rng: 1)]
    let count = model.graph.inputShape.count
    let dx = CompiledModel.allocate(bytes: count * model.graph.dtype.byteSize)
    defer { dx.deallocate() }
    model.stagedBackward(mode: .train, inputGradient: dx)
    values["grad.input"] = model.load(from: dx, offset: 0, count: count)
    // Every layer output the network stores (a fused batchnorm's is not: its relu's is).
    for index in model.graph.layers.indices where model.plan.fusion(producer: index) == nil {
        values["output of \(model.graph.layers[index].name)"] = model.layerOutput(index)
    }
    for name in model.parameterNames { values["grad.\(name)"] = try model.gradient(name) }
    for step in 1...2 { values["loss of step \(step)"] = [try model.stagedTrainStep(learningRate: 0.05)] }
    for name in model.tensorNames { values["\(name) after 2 steps"] = try model.tensor(name) }
    return values
}

/// Calls `<model>_set_threads` of the model's current code; returns the thread count in effect.
private func setThreads(_ model: CompiledModel, _ threads: Int32) throws -> Int32 {
    let address = try #require(model.program.symbol("\(model.graph.modelName)_set_threads"))
    return unsafeBitCast(address, to: (@convention(c) (Int32) -> Int32).self)(threads)
}

/// Records the first element whose bits differ, with the largest relative difference of the tensor.
private func expectIdentical(
    _ got: [String: [Double]], _ expected: [String: [Double]], _ context: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    #expect(got.keys.sorted() == expected.keys.sorted(), sourceLocation: sourceLocation)
    for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
        let have = got[name] ?? []
        guard have.count == want.count else {
            Issue.record("\(name), \(context): \(have.count) values, expected \(want.count)", sourceLocation: sourceLocation)
            continue
        }
        guard let first = have.indices.first(where: { have[$0].bitPattern != want[$0].bitPattern }) else { continue }
        let scale = max(want.map(abs).max() ?? 0, .leastNormalMagnitude)
        let worst = zip(have, want).map { abs($0 - $1) }.max() ?? 0
        Issue.record(
            "\(name), \(context): element \(first) is \(have[first]), expected \(want[first]) (largest difference \(worst / scale) of the largest magnitude)",
            sourceLocation: sourceLocation)
    }
}

@Suite struct OptimizedKernelTests {
    /// The cc build (GEMM tiles with vector extensions, `cc -O3 -march=native -ffp-contract=off`) against
    /// the tcc build (plain loops), with 1, 2 and 3 threads. Both add the same products in the same order,
    /// so the promise is bit-identical results — stronger than the float64 1e-12 / float32 1e-5 relative
    /// tolerance a reordering kernel would need — and the thread count never changes a bit.
    @Test(arguments: caseArguments)
    func ccKernelsMatchTccBitForBitOnAnyThreadCount(c: KernelCase, dtype: DType) throws {
        let graph = try ShapeInference.load(c.spec(dtype), path: "\(c.name).spec")
        let tccModel = try CompiledModel(graph: graph, backend: .tcc)
        #expect(try setThreads(tccModel, 2) == 1, "a tcc build runs on the calling thread only")
        try expectCCBuild(of: graph, with: kernelCache, named: "cc", matches: try exercise(tccModel), on: [1, 2, 3])
    }

    /// The AVX2 path's build against tcc on 1 and 2 threads, on CPUs where the test above builds AVX-512.
    @Test(.enabled(if: runsBothX86Paths), arguments: caseArguments)
    func avx2KernelsMatchTccBitForBit(c: KernelCase, dtype: DType) throws {
        let graph = try ShapeInference.load(c.spec(dtype), path: "\(c.name).spec")
        let tcc = try exercise(try CompiledModel(graph: graph, backend: .tcc))
        try expectCCBuild(of: graph, with: avx2KernelCache, named: "AVX2 cc", matches: tcc, on: [1, 2])
    }

    /// The cc build of `graph` with `options`, exercised on each thread count, gives `tcc`'s results bit for bit.
    private func expectCCBuild(
        of graph: ShapedGraph, with options: CCOptions, named name: String, matches tcc: [String: [Double]],
        on threadCounts: [Int32], sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        let ccModel = try CompiledModel(graph: graph, backend: .cc, cc: options)
        #expect(ccModel.backend == .cc, sourceLocation: sourceLocation)
        defer { _ = try? setThreads(ccModel, 0) }
        for threads in threadCounts {
            #expect(try setThreads(ccModel, threads) == threads, sourceLocation: sourceLocation)
            expectIdentical(
                try exercise(ccModel), tcc, "\(graph.modelName), \(name) build on \(threads) thread(s) vs tcc",
                sourceLocation: sourceLocation)
        }
    }

    /// Threads ≤ 0 mean the default: $NNGEN_THREADS, else every online core.
    @Test func defaultThreadCountIsEveryCore() throws {
        let graph = try ShapeInference.load(affineCases[1].spec(.float64), path: "one_sample.spec")
        let model = try CompiledModel(graph: graph, backend: .cc, cc: kernelCache)
        let configured = ProcessInfo.processInfo.environment["NNGEN_THREADS"].flatMap { Int32($0) } ?? 0
        let expected = configured > 0 ? min(configured, 64) : Int32(min(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 64))
        #expect(try setThreads(model, 0) == expected)
    }
}
