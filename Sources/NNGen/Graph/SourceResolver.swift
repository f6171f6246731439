// SourceResolver: a layer's `from=` list → the tensors it reads, with the errors of a graph (unknown or later
// names, cycles, the wrong number of inputs, outputs nobody reads).

/// Resolves `from=` names against the input and the layers shaped so far.
struct SourceResolver {
    var input: (name: String, shape: TensorShape, location: SourceLocation)
    /// The layers above the statement being shaped.
    var layers: [ShapedLayer]
    /// The names and lines of the layers below it, to explain a `from=` that names one of them.
    var laterLayers: [(name: String, line: Int)]

    /// The `from` attribute (if written) and the other attributes.
    static func split(_ attributes: [RawAttribute]) -> (from: RawAttribute?, rest: [RawAttribute]) {
        (attributes.first { $0.key.text == "from" }, attributes.filter { $0.key.text != "from" })
    }

    /// from := "from=" NAME ("," NAME)*. Without it a layer reads the statement before (the input for the
    /// first layer). Throws at the offending name.
    /// `own` is the layer's name and `described` its `kind 'name'`, for messages.
    func resolve(_ from: RawAttribute?, own: String, described: String) throws -> [TensorSource] {
        guard let from else { return [layers.isEmpty ? .input : .layer(layers.count - 1)] }
        return try from.items.map { item in try resolve(item, own: own, described: described) }
    }

    func resolve(_ item: SpecToken, own: String, described: String) throws -> TensorSource {
        let name = item.text
        if name == input.name { return .input }
        if let index = layers.firstIndex(where: { $0.name == name }) { return .layer(index) }
        let known = [input.name] + layers.map(\.name)
        if name == own {
            throw Diagnostic(
                at: item.location, "\(described) reads its own output: that is a cycle",
                hint: "a layer reads the input or layers above it; name one of: " + known.joined(separator: ", "))
        }
        if let later = laterLayers.first(where: { $0.name == name }) {
            throw Diagnostic(
                at: item.location,
                "\(described) reads '\(name)', which comes later (line \(later.line)): layers may only read the input "
                    + "or layers above them, so a graph has no cycles",
                hint: "move '\(name)' above this line, or read one of: " + known.joined(separator: ", "))
        }
        let list = "the input and the layers above are: " + known.joined(separator: ", ")
        throw Diagnostic(
            at: item.location, "\(described) reads '\(name)', which is neither the input nor a layer above it",
            hint: Suggestion.didYouMean(name, in: known).map { "\($0) \(list)" } ?? list)
    }

    /// A unary layer reads one tensor, a merge layer two or more (named with from=, `written` says whether it is).
    func checkArity(
        _ sources: [TensorSource], written: Bool, of definition: LayerDefinition, name: String, at location: SourceLocation
    ) throws {
        let described = "\(definition.keyword) '\(name)'"
        switch definition.arity {
        case .unary where sources.count != 1:
            let names = sources.map(self.name).joined(separator: ",")
            throw Diagnostic(
                at: location, "\(described) reads one input, but from= names \(sources.count) (\(names))",
                hint: "combine them first with 'add NAME from=\(names)' or 'concat NAME from=\(names)'")
        case .merge where sources.count < 2:
            let known = [input.name] + layers.map(\.name)
            let example = "from=" + known.suffix(2).reversed().joined(separator: ",")
            throw Diagnostic(
                at: location,
                written
                    ? "\(described) combines two or more inputs, but from= names only '\(self.name(sources[0]))'"
                    : "\(described) combines two or more inputs: name them with from=",
                hint: "e.g. \(example)")
        default:
            break
        }
    }

    func name(_ source: TensorSource) -> String {
        switch source {
        case .input: input.name
        case .layer(let index): layers[index].name
        }
    }

    /// The source as a layer's shape rule sees it.
    func describe(_ source: TensorSource) -> LayerInput {
        switch source {
        case .input: LayerInput(name: input.name, shape: input.shape, location: input.location)
        case .layer(let index): LayerInput(name: layers[index].name, shape: layers[index].output, location: layers[index].location)
        }
    }

    /// Every layer output but the last (which the loss reads) must be read by a layer. (The input always is:
    /// the first layer can read nothing else.)
    static func checkEveryOutputIsRead(_ layers: [ShapedLayer]) throws {
        var read = Set(layers.flatMap(\.sources))
        if !layers.isEmpty { read.insert(.layer(layers.count - 1)) }
        for (index, layer) in layers.enumerated() where !read.contains(.layer(index)) {
            throw Diagnostic(
                at: layer.location,
                "the output of \(layer.kind) '\(layer.name)' is read by nothing: no layer names it in from=, "
                    + "and only the last layer's output goes to the loss",
                hint: "read it in a later layer (e.g. 'add NAME from=\(layer.name),...'), or remove it")
        }
    }
}
