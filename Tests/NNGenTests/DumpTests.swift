// The stage dumps of `nngen check --dump`: statements written back, and the memory plan as a table.

import Testing

@testable import NNGen

@Suite struct DumpTests {
    static let spec = """
        input x [2, 3]   # comment
        affine   fc1 out=4 init=xavier
        relu
        loss softmax
        optimizer sgd lr=0.1 momentum=0.9
        """

    @Test func statementsAreWrittenBackCanonically() throws {
        let file = try SpecParser.parse(Self.spec, path: "d.spec")
        #expect(
            file.statements.map(\.description) == [
                "input x [2, 3]", "affine fc1 out=4 init=xavier", "relu", "loss softmax",
                "optimizer sgd lr=0.1 momentum=0.9",
            ])
    }

    /// What `--dump statements` prints is a spec again: parsing it gives the same statements.
    @Test func writtenBackStatementsParseAgain() throws {
        let text = Self.spec + "\nadd sum from=fc1, relu1\n"
        let file = try SpecParser.parse(text, path: "d.spec")
        let again = try SpecParser.parse(file.statements.map(\.description).joined(separator: "\n"), path: "e.spec")
        #expect(again.statements.map(\.description) == file.statements.map(\.description))
        #expect(file.statements.last?.description == "add sum from=fc1,relu1")
    }

    @Test func planTableListsEveryRegionInOrder() throws {
        let graph = try ShapeInference.load(Self.spec, path: "d.spec")
        let plan = MemoryPlan.plan(graph)
        let lines = plan.render(graph).split(separator: "\n").map(String.init)
        #expect(lines.first == "offset  elements  what")
        #expect(lines[1] == "     0       128  parameters")
        #expect(lines[2] == "     0        12    fc1.weight [3, 4]")
        #expect(lines[3] == "    64         4    fc1.bias [4]")
        #expect(lines.contains("   128       128  gradients (parameter offset + 128)"))
        #expect(lines.contains("   256       128  optimizer state (1 × the parameter layout)"))
        #expect(lines.last == "   \(plan.total)         0  end")
    }

    /// A fused batchnorm + relu shows in the plan: who writes the relu's output, which gradient is never stored.
    @Test func planTableNamesFusions() throws {
        let spec = "input x [4, 6]\nbatchnorm bn\nrelu r\naffine fc out=3\nloss softmax\noptimizer sgd lr=0.1\n"
        let graph = try ShapeInference.load(spec, path: "f.spec")
        let text = MemoryPlan.plan(graph).render(graph)
        #expect(text.contains("  r output [4, 6] (written by bn_forward_relu)"), "\(text)")
        #expect(text.contains("dbn (never stored: bn_backward_relu)"), "\(text)")
    }
}
