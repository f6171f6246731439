// The Swift API example of README.md, kept compiling and passing here (keep the two in sync).

import Foundation
import NNGen
import NNRuntime
import Testing

@Suite struct ReadmeExampleTests {
    @Test func swiftAPIExample() throws {
        // --- README example begins ---
        let spec = """
            input x [4, 6]
            dtype float64
            affine fc1 out=8
            batchnorm bn1
            relu
            affine fc2 out=3
            loss softmax
            optimizer sgd lr=0.1 momentum=0.9
            """
        let graph = try ShapeInference.load(spec, path: "toy.spec")  // parse + infer shapes
        let model = try CompiledModel(graph: graph, backend: .tcc)  // generate C, compile in memory
        model.initialize(seed: 42)  // He weights, zero biases, γ = 1, β = 0

        let x = (0..<24).map { Double($0 % 5) - 2 }  // one batch, [4, 6] row-major
        let y: [Int32] = [0, 1, 2, 1]
        let loss = try model.forward(input: x, target: .classes(y), mode: .train)
        let dx = model.backward(mode: .train)  // fills every parameter gradient
        let dW = try model.gradient("fc1.weight")  // [6, 8] row-major

        var last = loss
        for _ in 0..<20 { last = try model.trainStep(input: x, target: .classes(y)) }  // fused C step

        let fc1 = try model.layer("fc1")  // one layer's kernels
        let h = try fc1.forward(x, mode: .test)  // [4, 8]
        // --- README example ends ---

        #expect(loss > 0.5 && loss < 3)
        #expect(dx.count == 24 && dW.count == 48)
        #expect(dx.contains { $0 != 0 } && dW.contains { $0 != 0 })
        #expect(last < loss / 4, "training should fit one batch: \(loss) → \(last)")
        #expect(h.count == 32)
        #expect(model.step == 20)
    }

    /// The README shows exactly the code above (between the markers), dedented.
    @Test func readmeShowsThisCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let begin = try #require(source.range(of: "// --- README example begins ---\n"))
        let end = try #require(source.range(of: "        // --- README example ends ---"))
        let code = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        #expect(
            readme.contains("```swift\nimport NNGen\nimport NNRuntime\n\n" + code + "```"),
            "README.md's Swift API example differs from this test")
    }
}
