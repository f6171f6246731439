// The contract between the emitter and the templates: every template defines its entry points with the
// signatures of the EntryPoint table, and its stand-alone defaults name exactly the constants the emitter
// writes for it.

import Testing

@testable import NNGen

/// One spec that uses a template, for the contract checks; `kind` is the layer, loss or optimizer keyword.
struct TemplateSample: CustomStringConvertible, Sendable {
    var kind: String
    var spec: String
    var description: String { "\(kind): " + spec.split(separator: "\n").joined(separator: " | ") }

    init(
        _ kind: String, input: String = "[2, 3, 6, 6]", _ body: String, loss: String = "softmax",
        optimizer: String = "sgd lr=0.1 momentum=0.9"
    ) {
        self.kind = kind
        spec = "input x \(input)\n\(body)\nloss \(loss)\noptimizer \(optimizer)\n"
    }
}

@Suite struct TemplateContractTests {
    /// At least one sample per layer kind, loss and optimizer; several where the constants depend on the
    /// configuration (the defaults must then name the union of them).
    static let samples: [TemplateSample] = [
        TemplateSample("affine", input: "[2, 5]", "affine fc out=3"),
        TemplateSample("affine", input: "[2, 5]", "affine fc out=3 bias=false"),
        TemplateSample("relu", "relu r\naffine fc out=3"),
        TemplateSample("leakyrelu", "leakyrelu r slope=0.2\naffine fc out=3"),
        TemplateSample("gelu", "gelu g\naffine fc out=3"),
        TemplateSample("batchnorm", "batchnorm bn\naffine fc out=3"),
        TemplateSample("batchnorm", "batchnorm bn sync=true\naffine fc out=3"),
        TemplateSample("batchnorm", "batchnorm bn\nrelu r\naffine fc out=3"),  // with relu fused: RELU_OUT
        TemplateSample("batchnorm", input: "[4, 5]", "batchnorm bn\nrelu r\naffine fc out=3"),
        TemplateSample("conv", "conv c filters=4 size=3 pad=1\naffine fc out=3"),
        TemplateSample("conv", "conv c filters=6 size=3 groups=3 bias=false\naffine fc out=3"),
        TemplateSample("maxpool", "maxpool p size=2\naffine fc out=3"),
        TemplateSample("avgpool", "avgpool p size=3 stride=2 pad=1 count_pad=false\naffine fc out=3"),
        TemplateSample("globalavgpool", "globalavgpool g\naffine fc out=3"),
        TemplateSample("layernorm", "layernorm ln\naffine fc out=3"),
        TemplateSample("groupnorm", "groupnorm gn groups=3\naffine fc out=3"),
        TemplateSample("dropout", "dropout d keep=0.5\naffine fc out=3"),
        TemplateSample("sigmoid", "sigmoid s\naffine fc out=3"),
        TemplateSample("tanh", "tanh t\naffine fc out=3"),
        TemplateSample("add", "relu r\nadd a from=x,r\naffine fc out=3"),
        TemplateSample("add", "add a from=x,x,x\naffine fc out=3"),
        TemplateSample("add", "relu r\nadd a from=x,r\nrelu q\naffine fc out=3"),  // add then relu: fused
        TemplateSample("concat", "relu r\nconcat c from=r,x\naffine fc out=3"),
        TemplateSample("softmax", input: "[2, 5]", "affine fc out=3"),
        TemplateSample("svm", input: "[2, 5]", "affine fc out=3", loss: "svm"),
        TemplateSample("mse", input: "[2, 5]", "affine fc out=3", loss: "mse"),
        TemplateSample("sgd", input: "[2, 5]", "affine fc out=3"),
        TemplateSample("sgd", input: "[2, 5]", "affine fc out=3", optimizer: "sgd lr=0.1"),
        TemplateSample("adam", input: "[2, 5]", "affine fc out=3", optimizer: "adam lr=0.01"),
        TemplateSample("rmsprop", input: "[2, 5]", "affine fc out=3", optimizer: "rmsprop lr=0.01"),
        TemplateSample("adamw", input: "[2, 5]", "affine fc out=3", optimizer: "adamw lr=0.01"),
    ]

    /// The names a template's `#ifndef NNGEN_GENERATED` block defines, without `FN`.
    static func defaults(of text: String) -> Set<String> {
        var names: Set<String> = []
        var inside = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#ifndef NNGEN_GENERATED") {
                inside = true
            } else if inside && line.hasPrefix("#endif") {
                break
            } else if inside && line.hasPrefix("#define ") {
                let name = line.dropFirst("#define ".count).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                if name != "FN" { names.insert(String(name)) }
            }
        }
        return names
    }

    /// The template and the constants the emitter writes for the sample's `kind`.
    static func emitted(_ sample: TemplateSample) throws -> (template: String, constants: Set<String>) {
        let graph = try ShapeInference.load(sample.spec, path: "sample.spec")
        let plan = MemoryPlan.plan(graph)
        if let index = graph.layers.firstIndex(where: { $0.kind == sample.kind }) {
            let layer = graph.layers[index]
            let constants = Emitter.layerConstants(
                layer, slots: plan.layers[index], plan: plan, fusion: plan.fusion(producer: index))
            return (layer.template, Set(constants.map(\.name)))
        }
        if graph.loss.definition.keyword == sample.kind {
            return (graph.loss.definition.template, Set(Emitter.lossConstants(graph, plan: plan).map(\.name)))
        }
        let optimizer = try #require(graph.optimizer)
        #expect(optimizer.definition.keyword == sample.kind, "sample \(sample) does not use \(sample.kind)")
        return (optimizer.definition.template, Set(Emitter.optimizerConstants(optimizer, plan: plan).map(\.name)))
    }

    @Test func everyKindHasASample() {
        let kinds = Set(Self.samples.map(\.kind))
        let all = LayerRegistry.all.map(\.keyword) + LossDefinition.all.map(\.keyword) + OptimizerDefinition.all.map(\.keyword)
        for kind in all {
            #expect(kinds.contains(kind), "add a TemplateSample for '\(kind)' to TemplateContractTests.samples")
        }
    }

    /// Each sample's constants are named in the defaults, and the defaults name nothing that no sample of the
    /// template gets.
    @Test func templateDefaultsNameExactlyTheEmittedConstants() throws {
        var union: [String: Set<String>] = [:]
        for sample in Self.samples {
            let (template, constants) = try Self.emitted(sample)
            let defaults = Self.defaults(of: try TemplateLibrary.embedded.text(template + ".c"))
            let missing = constants.subtracting(defaults).sorted()
            #expect(missing.isEmpty, "templates/\(template).c defaults lack \(missing), which the emitter writes for \(sample)")
            union[template, default: []].formUnion(constants)
        }
        // A forward-only build writes a subset of them (no gradient offsets, no backward-only scratch).
        for sample in Self.samples {
            let graph = try ShapeInference.load(sample.spec, path: "sample.spec", forwardOnly: true)
            let plan = MemoryPlan.planForward(graph)
            guard let index = graph.layers.firstIndex(where: { $0.kind == sample.kind }) else { continue }
            let layer = graph.layers[index]
            let constants = Set(
                Emitter.layerConstants(layer, slots: plan.layers[index], plan: plan, fusion: plan.fusion(producer: index)).map(\.name))
            let defaults = Self.defaults(of: try TemplateLibrary.embedded.text(layer.template + ".c"))
            #expect(constants.isSubset(of: defaults), "forward-only \(sample): \(constants.subtracting(defaults).sorted())")
            #expect(!constants.contains { $0.hasPrefix("G_") || $0.hasPrefix("DX_") }, "forward-only \(sample) writes gradient constants")
        }
        for (template, constants) in union {
            let defaults = Self.defaults(of: try TemplateLibrary.embedded.text(template + ".c"))
            let extra = defaults.subtracting(constants).sorted()
            #expect(extra.isEmpty, "templates/\(template).c defaults define \(extra), which the emitter never writes")
        }
    }

    /// Every template defines its entry points exactly as the EntryPoint table spells them.
    @Test func templatesDefineTheTableSignatures() throws {
        var expected: [(template: String, entries: [EntryPoint])] = []
        expected += LayerRegistry.all.map { ($0.template, $0.entryPoints) }
        expected += LossDefinition.all.map { ($0.template, EntryPoint.loss) }
        expected += OptimizerDefinition.all.map { ($0.template, EntryPoint.optimizer) }
        // The fused entry points of every sample's fusions, in the producer's template.
        for sample in Self.samples {
            let graph = try ShapeInference.load(sample.spec, path: "sample.spec")
            for fusion in MemoryPlan.plan(graph).fusions {
                let arity = graph.layers[fusion.producer].definition.arity
                expected.append(
                    (
                        graph.layers[fusion.producer].template,
                        [.fusedForward(fusion.kind, arity: arity), .fusedBackward(fusion.kind, arity: arity)]
                    ))
            }
        }
        #expect(expected.contains { $0.entries.contains(.fusedForward("relu")) }, "no sample has a fusion")
        #expect(expected.contains { $0.entries.contains(.fusedForward("relu", arity: .merge)) }, "no sample fuses a merge layer")
        for (template, entries) in expected {
            let text = try TemplateLibrary.embedded.text(template + ".c")
            for entry in entries {
                let count = text.components(separatedBy: entry.templateSignature + " {").count - 1
                #expect(count >= 1, "templates/\(template).c does not define '\(entry.templateSignature)'")
            }
        }
    }

    /// templates/library.c: its defaults name exactly the library constants, and it defines the library's
    /// entry points.
    @Test func libraryTemplateMatchesItsConstantsAndEntryPoints() throws {
        let graph = try ShapeInference.load(Self.samples[0].spec, path: "sample.spec")
        let plan = MemoryPlan.plan(graph)
        let constants = Set(LibraryWriter(graph: graph, plan: plan, names: Names(model: "m")).constants().map(\.name))
        let text = try TemplateLibrary.embedded.text("library.c")
        #expect(Self.defaults(of: text) == constants)
        for entry in EntryPoint.library {
            #expect(text.contains(entry.templateSignature + " {"), "templates/library.c does not define '\(entry.templateSignature)'")
        }
    }

    @Test func entryPointParametersParse() {
        let entry = EntryPoint.layerBackward
        #expect(entry.parameters.map(\.name) == ["mem", "x", "dout", "dx", "train"])
        #expect(entry.parameters.map(\.type) == ["real *", "const real *", "const real *", "real *", "int"])
        #expect(
            entry.prototype(Names(model: "m"), owner: "fc1", real: "float")
                == "void m_fc1_backward(float *mem, const float *x, const float *dout, float *dx, int train)")
        #expect(
            EntryPoint.forward.templateSignature
                == "double FN(forward)(real *mem, const real *input, const void *target, int train, uint64_t rng)")
    }
}
