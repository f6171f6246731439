// dropout: the generated mask read back from the kernel, checked against the reference and against the documented
// counter-based generator; its statistics, reproducibility, test mode, and dropout inside a network.

import NNGen
import NNRuntime
import Testing

@Suite struct DropoutTests {
    static let shapes: [[Int]] = [1, 2, 3, 7].flatMap { n in [1, 3, 7, 13].map { d in [n, d] } } + [[2, 3, 2, 2], [3, 1, 4, 5]]

    /// The mask formula of Dropout.swift and templates/dropout.c written again here: element i of a layer
    /// is kept when the i-th output of splitmix64 seeded with mix(rng ⊕ salt), as a 53-bit fraction, is below keep.
    static func documentedMask(rng: UInt64, layer: String, count: Int, keep: Double) -> [Double] {
        func mix(_ value: UInt64) -> UInt64 {
            var z = value
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let key = mix(rng ^ LayerDefinition.dropoutSalt(layer))
        return (0..<count).map { i in
            let u = Double(mix(key &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15) >> 11) * 0x1p-53
            return u < keep ? 1 : 0
        }
    }

    /// How many elements differ (a readable failure for long masks).
    static func differences(_ a: [Double], _ b: [Double]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0 != $1 }.count : max(a.count, b.count)
    }

    /// The mask the generated forward draws for `x` with `rng`, read back from the layer's saved array.
    static func kernelMask(_ line: String, input: [Int], x: [Double], rng: UInt64 = 0) throws -> [Double] {
        let harness = try LayerHarness(layerLine: line, input: input, dtype: .float64)
        _ = try harness.layer.forward(x, mode: .train, rng: rng)
        return try harness.model.saved(layer: harness.shaped.name, name: "mask")
    }

    /// Against the reference with the mask the kernel used (train mode, rng 0 as `checkLayer` calls it) and
    /// the identity (test mode); the finite-difference check holds because the mask is fixed for a fixed rng.
    @Test(arguments: shapes)
    func matchesReferenceWithTheKernelsMask(shape: [Int]) throws {
        for keep in [0.5, 0.8] {
            let line = "dropout drop keep=\(keep)"
            try checkLayer(line, input: shape, modes: [.train, .test]) { inputs in
                guard inputs.mode == .train else { return LayerExpectation(out: inputs.x, dx: inputs.dout, gradients: [:]) }
                let read = (try? Self.kernelMask(line, input: shape, x: inputs.x.data)) ?? []
                #expect(read.count == inputs.x.count, "the mask of \(line) on \(shape) could not be read")
                let ones = [Double](repeating: 1, count: inputs.x.count)
                let mask = RefTensor(shape: shape, data: read.count == inputs.x.count ? read : ones)
                return LayerExpectation(
                    out: Reference.dropoutForward(x: inputs.x, mask: mask, keep: keep),
                    dx: Reference.dropoutBackward(dout: inputs.dout, mask: mask, keep: keep), gradients: [:])
            }
        }
    }

    /// One model, one forward: the output and dx match the reference with the very mask that forward saved, and
    /// that mask is the documented function of (rng, layer name, index).
    @Test(arguments: [DType.float64, .float32])
    func outputAndGradientUseTheSavedMask(dtype: DType) throws {
        let shape = [4, 3, 5, 5]
        let harness = try LayerHarness(layerLine: "dropout d1 keep=0.3", input: shape, dtype: dtype)
        let x = harness.rounded(RefTensor.random(shape: shape, seed: 5, scale: 2))
        let dout = harness.rounded(RefTensor.random(shape: shape, seed: 6, scale: 1))
        for rng: UInt64 in [0, 1, 0xDEAD_BEEF_CAFE_F00D] {
            let out = try harness.layer.forward(x.data, mode: .train, rng: rng)
            let mask = try harness.model.saved(layer: "d1", name: "mask")
            let documented = Self.documentedMask(rng: rng, layer: "d1", count: x.count, keep: 0.3)
            #expect(Self.differences(mask, documented) == 0, "elements where the mask for rng \(rng) is not the documented one")
            #expect(mask.contains(0) && mask.contains(1))
            let dx = try harness.layer.backward(x.data, outputGradient: dout.data, mode: .train)
            let m = RefTensor(shape: shape, data: mask)
            expectClose(out, Reference.dropoutForward(x: x, mask: m, keep: 0.3).data, Tolerance.of(dtype), "output, rng \(rng)")
            expectClose(dx, Reference.dropoutBackward(dout: dout, mask: m, keep: 0.3).data, Tolerance.of(dtype), "dx, rng \(rng)")
        }
    }

    /// Over 100 000 elements the kept fraction is within 4σ = 4·sqrt(P(1 − P)/n) of P, for several P and seeds;
    /// and kept elements are exactly the ones scaled by 1/P.
    @Test(arguments: [0.1, 0.5, 0.8])
    func keptFractionIsNearKeep(keep: Double) throws {
        let shape = [50, 2000]
        let n = Double(shape[0] * shape[1])
        let harness = try LayerHarness(layerLine: "dropout drop keep=\(keep)", input: shape, dtype: .float64)
        let x = [Double](repeating: 1, count: Int(n))
        for rng: UInt64 in [3, 4] {
            let out = try harness.layer.forward(x, mode: .train, rng: rng)
            let mask = try harness.model.saved(layer: "drop", name: "mask")
            let fraction = mask.reduce(0, +) / n
            let sigma = (keep * (1 - keep) / n).squareRoot()
            #expect(abs(fraction - keep) <= 4 * sigma, "kept \(fraction) of the elements with keep=\(keep), rng \(rng)")
            #expect(out == mask.map { $0 / keep })
            // The two halves of the tensor are kept at the same rate too (no drift along the counter).
            let half = mask.count / 2
            let first = mask[..<half].reduce(0, +) / Double(half)
            let second = mask[half...].reduce(0, +) / Double(half)
            #expect(abs(first - second) <= 4 * (2 * keep * (1 - keep) / Double(half)).squareRoot())
        }
    }

    @Test func sameSeedSameMaskOtherSeedOtherMask() throws {
        let shape = [8, 64]
        let x = RefTensor.random(shape: shape, seed: 1, scale: 1).data
        let a = try Self.kernelMask("dropout drop keep=0.5", input: shape, x: x, rng: 42)
        let again = try Self.kernelMask("dropout drop keep=0.5", input: shape, x: x, rng: 42)
        let other = try Self.kernelMask("dropout drop keep=0.5", input: shape, x: x, rng: 43)
        let otherLayer = try Self.kernelMask("dropout drop2 keep=0.5", input: shape, x: x, rng: 42)
        #expect(Self.differences(a, again) == 0)
        #expect(Self.differences(a, other) > 0)
        #expect(Self.differences(a, otherLayer) > 0, "two dropout layers draw different masks from one step seed")
        // The mask does not depend on x.
        let otherX = try Self.kernelMask("dropout drop keep=0.5", input: shape, x: x.map { -3 * $0 }, rng: 42)
        #expect(Self.differences(a, otherX) == 0)
    }

    @Test(arguments: [DType.float64, .float32])
    func testModeIsTheIdentity(dtype: DType) throws {
        let shape = [3, 2, 3, 3]
        let harness = try LayerHarness(layerLine: "dropout drop keep=0.25", input: shape, dtype: dtype)
        let x = harness.rounded(RefTensor.random(shape: shape, seed: 8, scale: 2)).data
        let dout = harness.rounded(RefTensor.random(shape: shape, seed: 9, scale: 1)).data
        #expect(try harness.layer.forward(x, mode: .test, rng: 77) == x)
        #expect(try harness.layer.backward(x, outputGradient: dout, mode: .test) == dout)
    }

    @Test func keepOneKeepsEverything() throws {
        let shape = [7, 13]
        let harness = try LayerHarness(layerLine: "dropout drop keep=1", input: shape, dtype: .float64)
        let x = RefTensor.random(shape: shape, seed: 10, scale: 2).data
        for rng: UInt64 in [0, 1, 2, .max] {
            #expect(try harness.layer.forward(x, mode: .train, rng: rng) == x)
            #expect(try harness.model.saved(layer: "drop", name: "mask") == [Double](repeating: 1, count: x.count))
            #expect(try harness.layer.backward(x, outputGradient: x, mode: .train) == x)
        }
    }

    /// FNV-1a 64 test vectors (Fowler, Noll, Vo): the salt is the published hash of the layer name.
    @Test func saltIsFNV1a() {
        #expect(LayerDefinition.dropoutSalt("") == 0xCBF2_9CE4_8422_2325)
        #expect(LayerDefinition.dropoutSalt("a") == 0xAF63_DC4C_8601_EC8C)
        #expect(LayerDefinition.dropoutSalt("foobar") == 0x8594_4171_F739_67E8)
    }

    static let network = NetworkCase(
        input: [3, 7], body: "affine fc1 out=6\ndropout d1 keep=0.5\ntanh\ndropout d2 keep=0.7\naffine fc2 out=3")

    /// A network with two dropout layers in train mode: the generated forward/backward match the reference
    /// network given the masks the kernels drew (read back after the forward).
    @Test(arguments: [DType.float64, .float32])
    func networkMatchesReferenceWithTheKernelsMasks(dtype: DType) throws {
        var p = try NetworkTests.prepare(Self.network, dtype: dtype)
        let loss = try p.model.forward(input: p.input, target: .classes(p.labels), mode: .train)
        for layer in ["d1", "d2"] { p.tensors["\(layer).mask"] = try p.model.saved(layer: layer, name: "mask") }
        #expect(p.tensors["d1.mask"]?.contains(0) == true)
        let expected = ReferenceNetwork.run(p.model.graph, tensors: p.tensors, input: p.input, labels: p.labels.map(Int.init), mode: .train)
        let tolerance = Tolerance.of(dtype)
        expectClose([loss], [expected.loss], tolerance, "loss")
        expectClose(p.model.output, expected.output, tolerance, "output")
        let dx = p.model.backward(mode: .train)
        let floor = gradientFloor([expected.inputGradient] + Array(expected.gradients.values))
        expectClose(dx, expected.inputGradient, tolerance, "input gradient", floor: floor)
        for name in p.model.parameterNames {
            expectClose(try p.model.gradient(name), expected.gradients[name] ?? [], tolerance, "gradient of \(name)", floor: floor)
        }
    }

    /// Between optimizer steps the step seed changes, so the masks do; within a step (no update) every
    /// forward draws the same mask, which is what makes the finite-difference check of the network valid.
    @Test func networkGradientsMatchFiniteDifferencesAndStepsDrawNewMasks() throws {
        let p = try NetworkTests.prepare(Self.network, dtype: .float64)
        let model = p.model
        let target = LossTarget.classes(p.labels)
        func loss(_ input: [Double]) -> Double { (try? model.forward(input: input, target: target, mode: .train)) ?? .nan }
        _ = loss(p.input)
        let mask = try model.saved(layer: "d1", name: "mask")
        let dx = model.backward(mode: .train)
        var analytic: [String: [Double]] = [:]
        for name in model.parameterNames { analytic[name] = try model.gradient(name) }
        let floor = gradientFloor([dx] + Array(analytic.values))
        expectClose(dx, Reference.numericalGradient(of: loss, at: p.input), Tolerance.gradientCheck, "input gradient check", floor: floor)
        for name in model.parameterNames {
            let numeric = Reference.numericalGradient(
                of: { values in
                    try? model.setTensor(name, values)
                    return loss(p.input)
                }, at: p.tensors[name]!)
            try model.setTensor(name, p.tensors[name]!)
            expectClose(analytic[name] ?? [], numeric, Tolerance.gradientCheck, "gradient check of \(name)", floor: floor)
        }
        #expect(Self.differences(try model.saved(layer: "d1", name: "mask"), mask) == 0, "forwards within one step reuse the mask")

        try model.trainStep(input: p.input, target: target)
        let first = try model.saved(layer: "d1", name: "mask")
        try model.trainStep(input: p.input, target: target)
        let second = try model.saved(layer: "d1", name: "mask")
        #expect(Self.differences(first, second) > 0, "each training step draws a new mask")
    }
}
