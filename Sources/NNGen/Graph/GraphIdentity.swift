// GraphIdentity: a model as canonical text — every statement with its defaults filled in — so a checkpoint
// can record what it was trained with, and a resume can say what changed.

extension ShapedGraph {
    /// One line per statement, in order: model, dtype, input, normalize, each layer (`KIND NAME from=...`
    /// and every attribute with its default), loss, optimizer (every hyperparameter), schedule. Two specs
    /// with the same lines define the same training run, however they are written.
    public var identityLines: [String] {
        var lines = ["model \(modelName)", "dtype \(dtype.rawValue)", "input \(inputName) \(inputShape)"]
        lines.append(bytePreprocessing.specText)
        func sourceName(_ source: TensorSource) -> String {
            switch source {
            case .input: inputName
            case .layer(let index): layers[index].name
            }
        }
        for layer in layers {
            let from = layer.sources.map(sourceName).joined(separator: ",")
            lines.append("\(layer.kind) \(layer.name) from=\(from)\(layer.attributes.canonical)")
        }
        lines.append("loss \(loss.definition.keyword)\(loss.attributes.canonical)")
        if let optimizer {
            let constants = optimizer.instance.constants.map { " \($0.name.lowercased())=\($0.value)" }.joined()
            lines.append("optimizer \(optimizer.definition.keyword) lr=\(optimizer.instance.learningRate)\(constants)")
        }
        lines.append("schedule \(schedule.specText)")
        return lines
    }
}

extension Attributes {
    /// ` key=value` for every attribute (defaults included), sorted by key.
    var canonical: String {
        values.sorted { $0.key < $1.key }.map { key, value in
            let text: String
            switch value {
            case .integer(let v): text = String(v)
            case .real(let v): text = "\(v)"
            case .size(let a, let b): text = "\(a)x\(b)"
            case .initializer(let v): text = "\(v)"
            case .boolean(let v): text = v ? "true" : "false"
            case .reals(let v): text = v.map { "\($0)" }.joined(separator: ",")
            }
            return " \(key)=\(text)"
        }.joined()
    }
}
