// inferShapes: statements → ShapedGraph. Resolves names, checks every attribute and shape, in order.

public enum ShapeInference {
    /// Parses and shape-checks a spec file's text in one go.
    public static func load(_ text: String, path: String) throws -> ShapedGraph {
        let spec = try Parser.parse(text, path: path)
        do {
            return try inferShapes(spec)
        } catch var diagnostic as Diagnostic {
            if diagnostic.sourceLine == nil, let location = diagnostic.location {
                diagnostic.sourceLine = spec.sourceLine(at: location)
            }
            throw diagnostic
        }
    }

    /// Builds the shaped graph; throws the first problem as a located `Diagnostic`.
    public static func inferShapes(_ spec: SpecFile) throws -> ShapedGraph {
        var modelName: Token?
        var input: (name: String, shape: Shape, location: SourceLocation)?
        var dtype: (DType, SourceLocation)?
        var layerStatements: [(kind: Token, name: Token?, attributes: [RawAttribute])] = []
        var lossStatement: (kind: Token, attributes: [RawAttribute], at: SourceLocation)?
        var optimizerStatement: (kind: Token, attributes: [RawAttribute], at: SourceLocation)?
        var scheduleStatement: (kind: Token, attributes: [RawAttribute], at: SourceLocation)?

        func once(_ seen: SourceLocation?, _ what: String, _ here: SourceLocation) throws {
            if let seen {
                throw Diagnostic(at: here, "'\(what)' is given twice (first at line \(seen.line))", hint: "keep one '\(what)' line")
            }
        }
        for statement in spec.statements {
            switch statement {
            case .model(let name, let keyword):
                try once(modelName?.location, "model", keyword.location)
                modelName = name
            case .input(let name, let dims, let keyword):
                try once(input?.location, "input", keyword.location)
                guard lossStatement == nil, layerStatements.isEmpty else {
                    throw Diagnostic(at: keyword.location, "'input' must come before the layers and the loss")
                }
                var values: [Int] = []
                for dim in dims {
                    guard let v = Int(dim.text), v >= 1 else {
                        throw Diagnostic(at: dim.location, "input dimension '\(dim.text)' is not a whole number ≥ 1")
                    }
                    values.append(v)
                }
                guard values.count == 2 || values.count == 4 else {
                    throw Diagnostic(at: keyword.location, "input shape \(Shape(values)) has rank \(values.count); expected [N, D] or [N, C, H, W]")
                }
                guard values.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) <= 1 << 31 else {
                    throw Diagnostic(at: keyword.location, "input shape \(Shape(values)) is too large (more than 2^31 elements)")
                }
                input = (name?.text ?? "x", Shape(values), keyword.location)
            case .dtype(let value, let keyword):
                try once(dtype?.1, "dtype", keyword.location)
                guard let t = DType(rawValue: value.text) else {
                    throw Diagnostic(at: value.location, "unknown dtype '\(value.text)'", hint: "use float32 or float64")
                }
                dtype = (t, keyword.location)
            case .layer(let kind, let name, let attributes):
                guard lossStatement == nil else {
                    throw Diagnostic(at: kind.location, "layer '\(kind.text)' comes after the loss", hint: "the loss ends the network; move this layer above it")
                }
                layerStatements.append((kind, name, attributes))
            case .loss(let kind, let attributes, let keyword):
                try once(lossStatement?.at, "loss", keyword.location)
                lossStatement = (kind, attributes, keyword.location)
            case .optimizer(let kind, let attributes, let keyword):
                try once(optimizerStatement?.at, "optimizer", keyword.location)
                optimizerStatement = (kind, attributes, keyword.location)
            case .schedule(let kind, let attributes, let keyword):
                try once(scheduleStatement?.at, "schedule", keyword.location)
                scheduleStatement = (kind, attributes, keyword.location)
            }
        }

        let fileLocation = SourceLocation(file: spec.path, line: 1, column: 1)
        guard let input else {
            throw Diagnostic(at: fileLocation, "the spec has no 'input' line", hint: "add e.g. input x [128, 784] before the layers")
        }
        guard !layerStatements.isEmpty else {
            throw Diagnostic(at: input.location, "the spec has no layers", hint: "add layers after the input, e.g. affine fc1 out=10")
        }
        guard let lossStatement else {
            throw Diagnostic(at: fileLocation, "the spec has no loss", hint: "end the network with e.g. loss softmax")
        }

        let layers = try shapeLayers(layerStatements, input: input.shape)
        let loss = try shapeLoss(lossStatement, output: layers.last?.output ?? input.shape)
        var optimizer: ShapedOptimizer?
        if let statement = optimizerStatement {
            guard let definition = OptimizerDefinition.definition(statement.kind.text) else {
                throw Diagnostic(at: statement.kind.location, "unknown optimizer '\(statement.kind.text)'",
                                 hint: "known optimizers: " + OptimizerDefinition.all.map(\.keyword).joined(separator: ", "))
            }
            let attributes = try Attributes.check(statement.attributes, against: definition.attributes,
                                                  statement: "optimizer \(definition.keyword)", at: statement.at)
            optimizer = ShapedOptimizer(definition: definition, instance: try definition.instantiate(attributes), location: statement.at)
        }
        let schedule = try scheduleStatement.map(shapeSchedule) ?? .constant
        if scheduleStatement != nil && optimizer == nil, let at = scheduleStatement?.at {
            throw Diagnostic(at: at, "a schedule needs an optimizer", hint: "add e.g. optimizer sgd lr=0.05")
        }

        let defaultName = baseName(spec.path)
        return ShapedGraph(
            modelName: modelName?.text ?? defaultName,
            file: spec.path,
            dtype: dtype?.0 ?? .float32,
            inputName: input.name,
            inputShape: input.shape,
            layers: layers,
            loss: loss,
            optimizer: optimizer,
            schedule: schedule)
    }

    static func shapeLayers(_ statements: [(kind: Token, name: Token?, attributes: [RawAttribute])], input: Shape) throws -> [ShapedLayer] {
        var layers: [ShapedLayer] = []
        var counts: [String: Int] = [:]
        var names: [String: SourceLocation] = [:]
        var shape = input
        for statement in statements {
            guard let definition = LayerRegistry.definition(statement.kind.text) else {
                let hint = ["model", "input", "dtype", "loss", "optimizer", "schedule"].contains(statement.kind.text.lowercased())
                    ? "statement keywords are lowercase"
                    : "known layers: " + LayerRegistry.all.map(\.keyword).joined(separator: ", ")
                throw Diagnostic(at: statement.kind.location, "unknown layer kind '\(statement.kind.text)'", hint: hint)
            }
            counts[definition.keyword, default: 0] += 1
            let name = statement.name?.text ?? "\(definition.keyword)\(counts[definition.keyword] ?? 1)"
            let location = statement.name?.location ?? statement.kind.location
            if let previous = names[name.lowercased()] {
                throw Diagnostic(at: location, "layer name '\(name)' is already used at line \(previous.line)",
                                 hint: "names must be unique (ignoring case); rename this layer")
            }
            names[name.lowercased()] = location
            let attributes = try Attributes.check(statement.attributes, against: definition.attributes,
                                                  statement: "\(definition.keyword) '\(name)'", at: statement.kind.location)
            let context = LayerContext(name: name, kind: definition.keyword, input: shape, attributes: attributes, location: statement.kind.location)
            let instance = try definition.instantiate(context)
            guard instance.output.count <= 1 << 31 else {
                throw context.error("output \(instance.output) is too large (more than 2^31 elements)")
            }
            layers.append(ShapedLayer(name: name, definition: definition, input: shape, instance: instance, attributes: attributes,
                                      location: statement.kind.location))
            shape = instance.output
        }
        return layers
    }

    static func shapeLoss(_ statement: (kind: Token, attributes: [RawAttribute], at: SourceLocation), output: Shape) throws -> ShapedLoss {
        guard let definition = LossDefinition.definition(statement.kind.text) else {
            throw Diagnostic(at: statement.kind.location, "unknown loss '\(statement.kind.text)'",
                             hint: "known losses: " + LossDefinition.all.map(\.keyword).joined(separator: ", "))
        }
        let attributes = try Attributes.check(statement.attributes, against: definition.attributes,
                                              statement: "loss \(definition.keyword)", at: statement.at)
        let context = LayerContext(name: definition.keyword, kind: "loss", input: output, attributes: attributes, location: statement.at)
        return ShapedLoss(definition: definition, input: output, instance: try definition.instantiate(context), attributes: attributes,
                          location: statement.at)
    }

    static func shapeSchedule(_ statement: (kind: Token, attributes: [RawAttribute], at: SourceLocation)) throws -> Schedule {
        switch statement.kind.text {
        case "constant":
            _ = try Attributes.check(statement.attributes, against: [], statement: "schedule constant", at: statement.at)
            return .constant
        case "cosine":
            _ = try Attributes.check(statement.attributes, against: [], statement: "schedule cosine", at: statement.at)
            return .cosine
        case "step":
            let attributes = try Attributes.check(statement.attributes, against: [
                AttributeSpec("every", .integer(min: 1), "epochs between decays"),
                AttributeSpec("gamma", .real(min: 0, max: 1, openMin: true), "factor applied every `every` epochs"),
            ], statement: "schedule step", at: statement.at)
            return .step(every: attributes.int("every"), gamma: attributes.double("gamma"))
        default:
            throw Diagnostic(at: statement.kind.location, "unknown schedule '\(statement.kind.text)'", hint: "use constant, cosine or step")
        }
    }

    /// `examples/fashion_mlp.spec` → `fashion_mlp`, made a valid C identifier.
    static func baseName(_ path: String) -> String {
        var name = String(path.split(separator: "/").last ?? "model")
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
        var ident = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        if ident.isEmpty || ident.first?.isNumber == true { ident = "m_" + ident }
        return ident
    }
}
