// inferShapes: statements → ShapedGraph. Resolves names, checks every attribute and shape, in source order.

public enum ShapeInference {
    /// The most elements one tensor may have (kernels index it with 32-bit arithmetic).
    static let largestTensor = 1 << 31
    /// The learning-rate schedules `schedule KIND` accepts.
    static let scheduleKinds = ["constant", "cosine", "step"]

    /// Parses and shape-checks a spec file's text in one go; `batch` replaces the batch size of its input
    /// (`nngen compile --inference --batch 1`), and `forwardOnly` checks it for a forward-only build (where a
    /// batchnorm may see one sample: it uses its running statistics).
    public static func load(_ text: String, path: String, batch: Int? = nil, forwardOnly: Bool = false) throws -> ShapedGraph {
        var spec = try SpecParser.parse(text, path: path)
        if let batch { spec = spec.withBatch(batch) }
        do {
            var graph = try inferShapes(spec, forwardOnly: forwardOnly)
            for index in graph.warnings.indices where graph.warnings[index].sourceLine == nil {
                graph.warnings[index].sourceLine = graph.warnings[index].location.flatMap(spec.sourceLine)
            }
            return graph
        } catch var diagnostic as Diagnostic {
            if diagnostic.sourceLine == nil, let location = diagnostic.location {
                diagnostic.sourceLine = spec.sourceLine(at: location)
            }
            throw diagnostic
        }
    }

    /// Builds the shaped graph, one statement at a time in source order, so the error thrown is the first
    /// problem in the file. Layers follow the input and precede the loss; `model`, `dtype`, `optimizer` and
    /// `schedule` may stand anywhere.
    public static func inferShapes(_ spec: SpecFile, forwardOnly: Bool = false) throws -> ShapedGraph {
        guard !spec.statements.isEmpty else {
            throw Diagnostic(
                file: spec.path, "the spec has no statements",
                hint: "a spec needs at least an input, a layer and a loss, e.g. the three lines "
                    + "'input x [128, 784]', 'affine fc1 out=10', 'loss softmax'")
        }
        var modelName: SpecToken?
        var input: (name: String, shape: TensorShape, location: SourceLocation)?
        var dtype: (DType, SourceLocation)?
        var layers: [ShapedLayer] = []
        var naming = LayerNaming()
        var loss: ShapedLoss?
        var optimizer: ShapedOptimizer?
        var schedule: (kind: String, value: Schedule, location: SourceLocation)?
        var normalize: (attributes: [RawAttribute], location: SourceLocation)?

        // Every layer's name and line, before any is checked: a `from=` naming a later layer gets a
        // message that says so.
        var layerNames: [(name: String, line: Int, index: Int)] = []
        var kindCounts: [String: Int] = [:]
        for (index, statement) in spec.statements.enumerated() {
            guard case .layer(let kind, let name, _) = statement else { continue }
            kindCounts[kind.text, default: 0] += 1
            layerNames.append((name?.text ?? "\(kind.text)\(kindCounts[kind.text] ?? 0)", kind.location.line, index))
        }
        /// The names and lines of the layers after statement `here`.
        func laterNames(after here: Int) -> [(name: String, line: Int)] {
            layerNames.filter { $0.index > here }.map { ($0.name, $0.line) }
        }

        let inputLine: SourceLocation? = spec.statements.lazy.compactMap { statement -> SourceLocation? in
            if case .input(_, _, let keyword) = statement { return keyword.location }
            return nil
        }.first
        /// The error for a layer or loss that comes before any input.
        func noInput(_ what: String, at location: SourceLocation) -> Diagnostic {
            if let inputLine {
                return Diagnostic(
                    at: location, "\(what) comes before the input (line \(inputLine.line))",
                    hint: "move the input line above the first layer")
            }
            return Diagnostic(
                at: location, "\(what) has no input: the spec has no 'input' line",
                hint: "add e.g. 'input x [128, 784]' above the first layer")
        }
        func once(_ seen: SourceLocation?, _ what: String, _ here: SourceLocation) throws {
            if let seen {
                throw Diagnostic(at: here, "'\(what)' is given twice (first at line \(seen.line))", hint: "keep one '\(what)' line")
            }
        }

        for (statementNumber, statement) in spec.statements.enumerated() {
            switch statement {
            case .model(let name, let keyword):
                try once(modelName?.location, "model", keyword.location)
                modelName = name
            case .input(let name, let dims, let keyword):
                try once(input?.location, "input", keyword.location)
                input = (name?.text ?? "x", try shapeInput(dims), keyword.location)
            case .dtype(let value, let keyword):
                try once(dtype?.1, "dtype", keyword.location)
                guard let type = DType(rawValue: value.text) else {
                    throw Diagnostic(at: value.location, "unknown dtype '\(value.text)'", hint: "use float32 or float64")
                }
                dtype = (type, keyword.location)
            case .layer(let kind, let name, let attributes):
                let described = "\(kind.text) '\(naming.name(kind: kind.text, explicit: name?.text))'"
                if let loss {
                    throw Diagnostic(
                        at: kind.location, "\(described) comes after the loss (line \(loss.location.line))",
                        hint: "the loss ends the network; move this layer above it")
                }
                guard let input else { throw noInput(described, at: kind.location) }
                guard LayerRegistry.definition(kind.text) != nil else { throw SpecParser.unknownLayerKind(kind) }
                let (from, rest) = SourceResolver.split(attributes)
                let context = SourceResolver(
                    input: (input.name, input.shape, input.location), layers: layers, laterLayers: laterNames(after: statementNumber))
                let own = naming.name(kind: kind.text, explicit: name?.text)
                let sources = try context.resolve(from, own: own, described: described)
                layers.append(
                    try shapeLayer(
                        kind: kind, name: name, attributes: rest, sources: sources, fromWritten: from != nil, graph: context,
                        naming: &naming, forwardOnly: forwardOnly))
            case .loss(let kind, let attributes, let keyword):
                try once(loss?.location, "loss", keyword.location)
                guard input != nil else { throw noInput("loss \(kind.text)", at: keyword.location) }
                guard let last = layers.last else {
                    throw Diagnostic(
                        at: keyword.location, "loss \(kind.text) has no layers before it",
                        hint: "add layers between the input and the loss, e.g. affine fc1 out=10")
                }
                loss = try shapeLoss(kind: kind, attributes: attributes, at: keyword.location, network: last)
            case .optimizer(let kind, let attributes, let keyword):
                try once(optimizer?.location, "optimizer", keyword.location)
                optimizer = try shapeOptimizer(kind: kind, attributes: attributes, at: keyword.location)
            case .normalize(let attributes, let keyword):
                try once(normalize?.location, "normalize", keyword.location)
                normalize = (attributes, keyword.location)
            case .schedule(let kind, let attributes, let keyword):
                try once(schedule?.location, "schedule", keyword.location)
                schedule = (kind.text, try shapeSchedule(kind: kind, attributes: attributes, at: keyword.location), keyword.location)
            }
        }

        guard let input else {
            throw Diagnostic(
                file: spec.path, "the spec has no 'input' line",
                hint: "start the network with e.g. 'input x [128, 784]', then its layers and a loss")
        }
        guard let last = layers.last else {
            throw Diagnostic(
                at: input.location, "the spec has no layers after input \(input.name) \(input.shape)",
                hint: "add layers and a loss after the input, e.g. 'affine fc1 out=10' and 'loss softmax'")
        }
        guard let loss else {
            throw Diagnostic(
                at: last.location, "the spec has no loss: the network ends at \(last.kind) '\(last.name)' with output \(last.output)",
                hint: "add a loss after the last layer, e.g. 'loss softmax'")
        }
        try SourceResolver.checkEveryOutputIsRead(layers)
        if let schedule, optimizer == nil {
            throw Diagnostic(
                at: schedule.location, "schedule \(schedule.kind) needs an optimizer",
                hint: "add e.g. 'optimizer sgd lr=0.05'")
        }
        let preprocessing = try normalize.map { try shapeNormalize($0.attributes, at: $0.location, input: input.shape) }
        let name = modelName?.text ?? baseName(spec.path)
        // The generated C's own names (the prelude's NNGEN_H, nngen_set_threads, ...) start with nngen.
        if name.lowercased() == "nngen" || name.lowercased().hasPrefix("nngen_") {
            let written =
                modelName.map { "model name '\($0.text)'" } ?? "model name '\(name)' (from the file name; the spec has no 'model' line)"
            throw Diagnostic(
                at: modelName?.location ?? SourceLocation(file: spec.path, line: 0, column: 0),
                "\(written) is reserved: the generated C's own functions and macros start with nngen",
                hint: "name the model otherwise, e.g. 'model my_net'")
        }
        return ShapedGraph(
            warnings: layers.flatMap(\.instance.warnings),
            modelName: name,
            file: spec.path,
            dtype: dtype?.0 ?? .float32,
            inputName: input.name,
            inputShape: input.shape,
            layers: layers,
            loss: loss,
            optimizer: optimizer,
            schedule: schedule?.value ?? .constant,
            preprocessing: preprocessing)
    }

    /// input := "input" [NAME] "[" INT ("," INT)* "]" with 2 or 4 whole numbers ≥ 1.
    static func shapeInput(_ dims: [SpecToken]) throws -> TensorShape {
        var values: [Int] = []
        for (index, dim) in dims.enumerated() {
            guard let v = Int(dim.text), v >= 1, v <= largestTensor else {
                let digits = dim.text.drop { $0 == "+" || $0 == "-" }
                let isNumber = !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
                let hint: String
                if isNumber && !dim.text.hasPrefix("-") && dim.text.contains(where: { $0 != "0" && $0 != "+" }) {
                    hint = "a tensor has at most 2^31 elements"
                } else if isNumber {
                    hint = "every dimension needs at least one element"
                } else if index == 0 {
                    hint = "shapes are static: write the batch size as a number, e.g. 128"
                } else {
                    hint = "dimensions are whole numbers, e.g. [128, 784]"
                }
                throw Diagnostic(at: dim.location, "input dimension '\(dim.text)' is not a whole number from 1 to 2^31", hint: hint)
            }
            values.append(v)
        }
        let shape = TensorShape(values)
        guard values.count == 2 || values.count == 4 else {
            let hint: String
            switch values.count {
            case 1: hint = "shapes are batch first: write e.g. [128, \(values[0])]"
            case 3:
                hint =
                    "for one-channel images write [\(values[0]), 1, \(values[1]), \(values[2])]; to flatten, [\(values[0]), \(values[1] * values[2])]"
            default: hint = "fold the extra dimensions into [N, D] or [N, C, H, W]"
            }
            throw Diagnostic(
                at: dims[0].location, "input shape \(shape) has rank \(values.count); expected [N, D] or [N, C, H, W]", hint: hint)
        }
        let (count, overflow) = values.reduce((1, false)) { acc, v in
            let (p, o) = acc.0.multipliedReportingOverflow(by: v)
            return (p, acc.1 || o)
        }
        guard !overflow, count <= largestTensor else {
            throw Diagnostic(
                at: dims[0].location, "input shape \(shape) is too large (more than 2^31 elements)",
                hint: "use a smaller batch")
        }
        return shape
    }

    /// layer := KIND [NAME] attribute*, applied to its sources (`from=`, or the statement before).
    static func shapeLayer(
        kind: SpecToken, name: SpecToken?, attributes raw: [RawAttribute], sources: [TensorSource], fromWritten: Bool,
        graph: SourceResolver, naming: inout LayerNaming, forwardOnly: Bool = false
    ) throws -> ShapedLayer {
        guard let definition = LayerRegistry.definition(kind.text) else { throw SpecParser.unknownLayerKind(kind) }
        let name = try naming.claim(kind: definition.keyword, explicit: name, at: kind.location)
        try graph.checkArity(sources, written: fromWritten, of: definition, name: name, at: kind.location)
        let attributes = try Attributes.check(
            raw, against: definition.attributes,
            statement: "\(definition.keyword) '\(name)'", at: kind.location, alsoAccepted: ["from"])
        let inputs = sources.map(graph.describe)
        var context = LayerContext(name: name, kind: definition.keyword, inputs: inputs, attributes: attributes, location: kind.location)
        context.forwardOnly = forwardOnly
        let instance = try definition.instantiate(context)
        let tensors = [("output", instance.output)] + (instance.parameters + instance.buffers).map { ($0.suffix, $0.shape) }
        for (what, shape) in tensors where shape.count > largestTensor {
            throw context.error("\(what) \(shape) is too large (more than 2^31 elements)")
        }
        return ShapedLayer(
            name: name, definition: definition, sources: sources, inputs: inputs.map(\.shape), instance: instance,
            attributes: attributes, location: kind.location)
    }

    /// loss := "loss" KIND attribute*, applied to the output of the last layer `network`.
    static func shapeLoss(
        kind: SpecToken, attributes raw: [RawAttribute], at location: SourceLocation,
        network last: ShapedLayer
    ) throws -> ShapedLoss {
        guard let definition = LossDefinition.definition(kind.text) else {
            throw Diagnostic(
                at: kind.location, "unknown loss '\(kind.text)'",
                hint: knownHint(kind.text, "known losses", LossDefinition.all.map(\.keyword)))
        }
        let attributes = try Attributes.check(raw, against: definition.attributes, statement: "loss \(definition.keyword)", at: location)
        let context = LayerContext(name: definition.keyword, kind: "loss", input: last.output, attributes: attributes, location: location)
        do {
            return ShapedLoss(
                definition: definition, input: last.output, instance: try definition.instantiate(context),
                attributes: attributes, location: location)
        } catch var diagnostic as Diagnostic {
            // The loss sees only a shape; say which layer made it.
            diagnostic.message += " (the output of \(last.kind) '\(last.name)')"
            throw diagnostic
        }
    }

    /// optimizer := "optimizer" KIND attribute*
    static func shapeOptimizer(kind: SpecToken, attributes raw: [RawAttribute], at location: SourceLocation) throws -> ShapedOptimizer {
        guard let definition = OptimizerDefinition.definition(kind.text) else {
            throw Diagnostic(
                at: kind.location, "unknown optimizer '\(kind.text)'",
                hint: knownHint(kind.text, "known optimizers", OptimizerDefinition.all.map(\.keyword)))
        }
        let attributes = try Attributes.check(
            raw, against: definition.attributes, statement: "optimizer \(definition.keyword)", at: location)
        return ShapedOptimizer(definition: definition, instance: try definition.instantiate(attributes), location: location)
    }

    /// normalize := "normalize" mean=M[,M...] std=S[,S...] [max=255]: one value, or one per channel of the input.
    static func shapeNormalize(_ raw: [RawAttribute], at location: SourceLocation, input: TensorShape) throws -> Preprocessing {
        let attributes = try Attributes.check(
            raw,
            against: [
                AttributeSpec("mean", .reals(min: -1e6, max: 1e6, openMin: false), "subtracted after the division by max"),
                AttributeSpec("std", .reals(min: 0, max: 1e6, openMin: true), "divides after the mean is subtracted"),
                AttributeSpec("max", .real(min: 0, max: 1e9, openMin: true), default: .real(255), "raw bytes are divided by it first"),
            ], statement: "normalize", at: location)
        let channels = input[1]
        for name in ["mean", "std"] {
            let count = attributes.reals(name).count
            guard count == 1 || count == channels else {
                throw Diagnostic(
                    at: attributes.location(of: name),
                    "normalize \(name) has \(count) values; input \(input) has \(channels) channel\(channels == 1 ? "" : "s")",
                    hint: "give one value for every channel, or one per channel")
            }
        }
        return Preprocessing(mean: attributes.reals("mean"), std: attributes.reals("std"), max: attributes.double("max"))
    }

    /// schedule := "schedule" ("constant" | "cosine" | "step" every=E gamma=G)
    static func shapeSchedule(kind: SpecToken, attributes raw: [RawAttribute], at location: SourceLocation) throws -> Schedule {
        switch kind.text {
        case "constant":
            _ = try Attributes.check(raw, against: [], statement: "schedule constant", at: location)
            return .constant
        case "cosine":
            _ = try Attributes.check(raw, against: [], statement: "schedule cosine", at: location)
            return .cosine
        case "step":
            let attributes = try Attributes.check(
                raw,
                against: [
                    AttributeSpec("every", .integer(min: 1), "epochs between decays"),
                    AttributeSpec("gamma", .real(min: 0, max: 1, openMin: true), "factor applied every `every` epochs"),
                ], statement: "schedule step", at: location)
            return .step(every: attributes.int("every"), gamma: attributes.double("gamma"))
        default:
            throw Diagnostic(
                at: kind.location, "unknown schedule '\(kind.text)'",
                hint: knownHint(kind.text, "known schedules", scheduleKinds))
        }
    }

    /// `did you mean 'softmax'? known losses: softmax`, or only the list.
    static func knownHint(_ word: String, _ title: String, _ known: [String]) -> String {
        let list = "\(title): " + known.joined(separator: ", ")
        return Suggestion.didYouMean(word, in: known).map { "\($0) \(list)" } ?? list
    }

    /// `examples/fashion_mlp.spec` → `fashion_mlp`, made a valid C identifier (`My-Net.spec` → `My_Net`,
    /// `3d.spec` → `m_3d`).
    static func baseName(_ path: String) -> String {
        var name = String(path.split(separator: "/").last ?? "model")
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
        var ident = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        if ident.isEmpty || ident.first?.isNumber == true { ident = "m_" + ident }
        return ident
    }
}

/// Layer names: the one written, or KIND + the 1-based count of layers of that kind so far (`relu2`).
/// Names are unique ignoring case, because they become upper-case C macros (`FC1_WEIGHT`).
struct LayerNaming {
    private var counts: [String: Int] = [:]
    private var taken: [String: (name: String, kind: String, line: Int, automatic: Bool)] = [:]
    /// Names the generated code uses for other things.
    static let reserved: Set<String> = ["loss"]

    /// The name the next layer of `kind` gets.
    func name(kind: String, explicit: String?) -> String {
        explicit ?? "\(kind)\((counts[kind] ?? 0) + 1)"
    }

    /// Names the next layer of `kind`; throws when the name is taken.
    mutating func claim(kind: String, explicit: SpecToken?, at location: SourceLocation) throws -> String {
        let name = name(kind: kind, explicit: explicit?.text)
        counts[kind, default: 0] += 1
        if Self.reserved.contains(name.lowercased()) {
            throw Diagnostic(
                at: explicit?.location ?? location,
                "layer name '\(name)' is reserved: the generated C names the loss kernels '<model>_loss_forward/backward'",
                hint: "choose another name")
        }
        if let previous = taken[name.lowercased()] {
            let ignoringCase = previous.name != name ? " (names are compared ignoring case)" : ""
            let line = previous.line
            if let explicit {
                if previous.automatic {
                    throw Diagnostic(
                        at: explicit.location,
                        "layer name '\(name)' is already the automatic name of the unnamed \(previous.kind) at line \(line)\(ignoringCase)",
                        hint: "rename this layer, or give the \(previous.kind) at line \(line) a name of its own")
                }
                throw Diagnostic(
                    at: explicit.location,
                    "layer name '\(name)' is already used by \(previous.kind) '\(previous.name)' at line \(line)\(ignoringCase)",
                    hint: "rename one of the two layers")
            }
            throw Diagnostic(
                at: location,
                "the unnamed \(kind) gets the automatic name '\(name)', which \(previous.kind) '\(previous.name)' at line \(line) already uses\(ignoringCase)",
                hint: "give this \(kind) a name of its own, or rename the layer at line \(line)")
        }
        taken[name.lowercased()] = (name, kind, (explicit?.location ?? location).line, explicit == nil)
        return name
    }
}
