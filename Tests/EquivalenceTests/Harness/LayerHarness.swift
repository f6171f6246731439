// LayerHarness: one layer kind compiled alone, checked against the reference and against numerical gradients.

import Foundation
import NNGen
import NNRuntime
import Testing

/// Tolerances the project promises (norm-wise relative error, see `Reference.relativeError`).
enum Tolerance {
    static let float64 = 1e-10
    static let float32 = 1e-4
    static let gradientCheck = 1e-6
    static func of(_ dtype: DType) -> Double { dtype == .float64 ? float64 : float32 }
}

/// The values a reference layer function gets: parameters and buffers by suffix (`weight`, `running_var`),
/// the input and the output gradient, and the mode.
struct LayerInputs {
    var shape: [Int]
    var x: RefTensor
    var dout: RefTensor
    var parameters: [String: RefTensor]
    var buffers: [String: RefTensor]
    var mode: RunMode
    var layer: ShapedLayer
}

/// What the reference computes for one layer call.
struct LayerExpectation {
    var out: RefTensor
    var dx: RefTensor
    /// Gradients by parameter suffix.
    var gradients: [String: RefTensor]
    /// Buffers after the forward pass (running statistics), by suffix.
    var buffers: [String: RefTensor] = [:]
}

/// A one-layer model: `input`, the layer under test, and a throwaway affine + softmax tail so the spec is
/// complete. Only the layer's own kernels are called.
struct LayerHarness {
    let model: CompiledModel
    let layer: LayerKernels
    let dtype: DType

    init(layerLine: String, input: [Int], dtype: DType) throws {
        let spec = """
            input x [\(input.map(String.init).joined(separator: ", "))]
            dtype \(dtype.rawValue)
            \(layerLine)
            affine tail out=2
            loss softmax
            """
        model = try CompiledModel(graph: try ShapeInference.load(spec, path: "test.spec"), backend: testBackend)
        model.initialize(seed: 0)
        layer = try model.layer(model.graph.layers[0].name)
        self.dtype = dtype
    }

    var shaped: ShapedLayer { layer.layer }

    /// Parameters get values in [-1, 1]; variance buffers values in [0.5, 1.5]; other buffers [-1, 1].
    func randomizeTensors(seed: UInt64) throws {
        for (index, name) in model.tensorNames.enumerated() where name.hasPrefix(shaped.name + ".") {
            let shape = try model.shape(of: name).dims
            var values = RefTensor.random(shape: shape, seed: seed &+ UInt64(index) &* 7919, scale: 1).data
            if name.hasSuffix("_var") { values = values.map { 1 + 0.5 * $0 } }
            try model.setTensor(name, values)
        }
    }

    /// The layer's tensors as the model holds them (already rounded to its dtype), by suffix.
    func tensors(role: TensorRole) throws -> [String: RefTensor] {
        var result: [String: RefTensor] = [:]
        for tensor in model.plan.tensors where tensor.role == role && tensor.name.hasPrefix(shaped.name + ".") {
            result[String(tensor.name.dropFirst(shaped.name.count + 1))] = RefTensor(
                shape: tensor.shape.dims, data: try model.tensor(tensor.name))
        }
        return result
    }

    /// Rounds values to the model's dtype, so the reference sees exactly what the kernel sees.
    func rounded(_ t: RefTensor) -> RefTensor {
        dtype == .float64 ? t : RefTensor(shape: t.shape, data: t.data.map { Double(Float($0)) })
    }
}

/// Checks one layer configuration in float64 and float32 against `reference`, and its float64 backward
/// against centered finite differences of its own forward.
func checkLayer(
    _ line: String, input: [Int], modes: [RunMode] = [.train], dtypes: [DType] = [.float64, .float32],
    seed: UInt64 = 1, reference: (LayerInputs) -> LayerExpectation
) throws {
    for dtype in dtypes {
        for mode in modes {
            let harness = try LayerHarness(layerLine: line, input: input, dtype: dtype)
            try harness.randomizeTensors(seed: seed)
            let outShape = harness.shaped.output.dims
            let x = harness.rounded(RefTensor.random(shape: input, seed: seed &+ 101, scale: 2))
            let dout = harness.rounded(RefTensor.random(shape: outShape, seed: seed &+ 202, scale: 1))
            let inputs = LayerInputs(
                shape: input, x: x, dout: dout, parameters: try harness.tensors(role: .parameter),
                buffers: try harness.tensors(role: .buffer), mode: mode, layer: harness.shaped)
            let expected = reference(inputs)
            let tolerance = Tolerance.of(dtype)
            let context = "\(line) on \(input), \(dtype.rawValue), \(mode.rawValue) mode"

            let out = try harness.layer.forward(x.data, mode: mode)
            expectClose(out, expected.out.data, tolerance, "forward output of \(context)")
            let buffersAfter = try harness.tensors(role: .buffer)
            for (name, value) in expected.buffers {
                expectClose(buffersAfter[name]?.data ?? [], value.data, tolerance, "\(name) after forward of \(context)")
            }
            let dx = try harness.layer.backward(x.data, outputGradient: dout.data, mode: mode)
            let floor = gradientFloor([expected.dx.data] + expected.gradients.values.map(\.data))
            expectClose(dx, expected.dx.data, tolerance, "dx of \(context)", floor: floor)
            for (name, value) in expected.gradients {
                let got = try harness.model.gradient("\(harness.shaped.name).\(name)")
                expectClose(got, value.data, tolerance, "d\(name) of \(context)", floor: floor)
            }
            if dtype == .float64 {
                try gradientCheck(harness, x: x, dout: dout, mode: mode, context: context)
            }
        }
    }
}

/// The error floor for a set of gradients: 1e-3 of the largest magnitude among them.
func gradientFloor(_ gradients: [[Double]]) -> Double {
    1e-3 * (gradients.flatMap { $0 }.map(abs).max() ?? 0)
}

/// Centered finite differences of L = Σ forward(x)·dout with respect to x and every parameter of the layer,
/// against the generated backward.
func gradientCheck(_ harness: LayerHarness, x: RefTensor, dout: RefTensor, mode: RunMode, context: String) throws {
    let layer = harness.layer
    let model = harness.model
    func loss(_ input: [Double]) -> Double {
        let out = (try? layer.forward(input, mode: mode)) ?? []
        return zip(out, dout.data).reduce(0) { $0 + $1.0 * $1.1 }
    }
    let parameters = model.parameterNames.filter { $0.hasPrefix(harness.shaped.name + ".") }
    // Analytic gradients first (forward then backward at the unperturbed point).
    _ = try layer.forward(x.data, mode: mode)
    let dx = try layer.backward(x.data, outputGradient: dout.data, mode: mode)
    var analytic: [String: [Double]] = [:]
    for name in parameters { analytic[name] = try model.gradient(name) }

    let floor = gradientFloor([dx] + Array(analytic.values))
    let numericDx = Reference.numericalGradient(of: loss, at: x.data)
    expectClose(dx, numericDx, Tolerance.gradientCheck, "gradient check of dx, \(context)", floor: floor)
    for name in parameters {
        let original = try model.tensor(name)
        let numeric = Reference.numericalGradient(
            of: { values in
                try? model.setTensor(name, values)
                return loss(x.data)
            }, at: original)
        try model.setTensor(name, original)
        expectClose(analytic[name] ?? [], numeric, Tolerance.gradientCheck, "gradient check of \(name), \(context)", floor: floor)
    }
}

/// Expects the norm-wise relative error `max|got − expected| / max(max|got|, max|expected|, floor)` to be at
/// most `tolerance`.
///
/// `floor` is for gradients: a gradient that is zero in exact arithmetic (a bias followed by batchnorm, dx of a
/// batchnorm over two values) holds only rounding noise, and its error is measured against the scale of the
/// other gradients of the same computation instead (`gradientFloor`).
func expectClose(
    _ got: [Double], _ expected: [Double], _ tolerance: Double, _ what: String, floor: Double = 0,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    guard got.count == expected.count else {
        Issue.record("\(what): \(got.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    let difference = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
    let scale = max(got.map(abs).max() ?? 0, expected.map(abs).max() ?? 0, floor, 1e-300)
    let error = difference.isNaN || got.contains(where: \.isNaN) ? Double.infinity : difference / scale
    #expect(error <= tolerance, "\(what): relative error \(error) > \(tolerance)", sourceLocation: sourceLocation)
}

/// The backend the equivalence tests compile with: libtcc, or the cc build with `NNGEN_TEST_BACKEND=cc`
/// (how `.ci/run` runs them once more with the kernels built under ASan and UBSan, through NNGEN_CFLAGS).
let testBackend: Backend = ProcessInfo.processInfo.environment["NNGEN_TEST_BACKEND"] == "cc" ? .cc : .tcc
