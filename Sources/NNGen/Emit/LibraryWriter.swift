// LibraryWriter: the constants of templates/library.c for one model — its initialization table, the header
// M_save writes, the preprocessing, the loss's output, the learning rate — and the optimizer-state table.

struct LibraryWriter {
    var graph: ShapedGraph
    var plan: MemoryPlan
    var names: Names

    /// The optimizer state arrays as checkpoints name them: `optimizer.SLOT.NAME`, at their offsets.
    var stateTensors: [(name: String, offset: Int, shape: TensorShape)] {
        (0..<plan.stateSlots).flatMap { slot in
            plan.parameterTensors.map { ("optimizer.\(slot).\($0.name)", plan.stateOffset(of: $0, slot: slot), $0.shape) }
        }
    }

    /// The `#define`s of the library section.
    func constants() -> [TemplateConstant] {
        let preprocessing = graph.bytePreprocessing
        let channels = max(preprocessing.mean.count, preprocessing.std.count)
        let optimizer = graph.optimizer
        let schedule: (kind: Int, every: Int, gamma: Double)
        switch graph.schedule {
        case .constant: schedule = (0, 1, 1)
        case .cosine: schedule = (1, 1, 1)
        case .step(let every, let gamma): schedule = (2, every, gamma)
        }
        let header = saveHeader()
        return [
            TemplateConstant("TENSORS", plan.tensors.count, "parameters and buffers"),
            TemplateConstant("STATE_TENSORS", stateTensors.count, "optimizer state arrays"),
            TemplateConstant("MEM_SIZE", plan.total, "elements of mem"),
            TemplateConstant("DTYPE_NAME", graph.dtype == .float32 ? "\"F32\"" : "\"F64\"", "the model's element type in safetensors"),
            TemplateConstant("INIT_TABLE", initTable(), ""),
            TemplateConstant("INIT_COUNT", plan.tensors.count, "rows of INIT_TABLE"),
            TemplateConstant("SAVE_HEADER", cString(header), ""),
            TemplateConstant("SAVE_HEADER_SIZE", header.utf8.count, "its length in bytes (a multiple of 8)"),
            TemplateConstant("BATCH", graph.batch, "samples per call"),
            TemplateConstant("INPUT_SIZE", graph.inputShape.count, "elements of one input batch"),
            TemplateConstant("PRE_CHANNELS", channels, "channels of the preprocessing (1: one map for all)"),
            TemplateConstant("PRE_PLANE", graph.inputShape.featureCount / max(graph.inputShape[1], 1), "values of a sample per channel"),
            TemplateConstant(
                "PRE_SCALES", (0..<channels).map { "\(preprocessing.scale(channel: $0))f" }.joined(separator: ", "),
                "per channel: 1/(max·std) — \(preprocessing.specText)"),
            TemplateConstant(
                "PRE_SHIFTS", (0..<channels).map { "\(preprocessing.shift(channel: $0))f" }.joined(separator: ", "),
                "per channel: −mean/std"),
            TemplateConstant("OUTPUT_OFFSET", plan.outputOffset, "the network output in mem"),
            TemplateConstant("OUTPUT_SIZE", graph.outputShape.count, "its elements"),
            TemplateConstant("CLASSES", graph.outputShape.featureCount, "output values per sample"),
            TemplateConstant(
                "PROBABILITIES", graph.loss.definition.target == .classIndices ? 1 : 0,
                "1: predict returns the softmax of the output (loss \(graph.loss.definition.keyword))"),
            .real("LR_BASE", optimizer?.instance.learningRate ?? 0, "the spec's lr"),
            TemplateConstant("SCHEDULE", schedule.kind, "0 constant, 1 cosine, 2 step — schedule \(graph.schedule.specText)"),
            TemplateConstant("STEP_EVERY", schedule.every, "schedule step: epochs between decays"),
            .real("STEP_GAMMA", schedule.gamma, "schedule step: the factor"),
        ]
    }

    /// One row per parameter and buffer: `{kind, FNV-1a(name), offset, count, scale}` with kind 0 zeros,
    /// 1 ones, 2 normal (scale: the standard deviation), 3 uniform (scale: the half width) — the values
    /// nngen init draws, so M_init matches it bit for bit.
    func initTable() -> String {
        let rows = plan.tensors.map { t -> String in
            let spec = t.spec
            let (kind, scale): (Int, Double)
            switch spec.initializer {
            case .zeros: (kind, scale) = (0, 0)
            case .ones: (kind, scale) = (1, 0)
            case .he: (kind, scale) = (2, (2.0 / Double(max(spec.fanIn, 1))).squareRoot())
            case .xavier: (kind, scale) = (2, (2.0 / Double(max(spec.fanIn + spec.fanOut, 1))).squareRoot())
            case .normal(let std): (kind, scale) = (2, std)
            case .uniform(let a): (kind, scale) = (3, a)
            }
            let hash = String(stableHash(t.name), radix: 16)
            return "    {\(kind), 0x\(hash)ull, \(t.offset), \(t.count), \(CLiteral.double(scale))}, /* \(t.name) \(spec.initializer) */"
        }
        return (["/* kind, FNV-1a of the name, offset, count, scale */"] + rows).joined(separator: " \\\n")
    }

    /// The safetensors header M_save writes: metadata, then every parameter and buffer and every optimizer
    /// state array in table order, contiguous; padded with spaces to a multiple of 8 bytes.
    func saveHeader() -> String {
        let dtype = graph.dtype == .float32 ? "F32" : "F64"
        var entries = [
            "\"__metadata__\":{\"format\":\"nngen-library-1\",\"model\":\"\(graph.modelName)\",\"dtype\":\"\(graph.dtype.rawValue)\","
                + "\"preprocess\":\"\(graph.bytePreprocessing.specText)\"}"
        ]
        var offset = 0
        for (name, shape) in plan.tensors.map({ ($0.name, $0.shape) }) + stateTensors.map({ ($0.name, $0.shape) }) {
            let bytes = shape.count * graph.dtype.byteSize
            entries.append(
                "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.dims.map(String.init).joined(separator: ","))],"
                    + "\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var text = "{" + entries.joined(separator: ",") + "}"
        while text.utf8.count % 8 != 0 { text += " " }
        return text
    }

    /// A C string literal of `text` (which holds no backslash), cut into lines of at most 100 characters.
    func cString(_ text: String) -> String {
        let escaped = text.map { $0 == "\"" ? "\\\"" : String($0) }.joined()
        var pieces: [String] = []
        var rest = Substring(escaped)
        while !rest.isEmpty {
            var cut = rest.index(rest.startIndex, offsetBy: min(100, rest.count))
            while cut < rest.endIndex, rest[rest.index(before: cut)] == "\\" { cut = rest.index(after: cut) }  // keep \" whole
            pieces.append("    \"\(rest[..<cut])\"")
            rest = rest[cut...]
        }
        return "\\\n" + pieces.joined(separator: " \\\n")
    }

    /// The optimizer-state table `<model>_state_tensors` (same struct as the tensor table; NULL-terminated).
    func stateTable() -> String {
        var out =
            "\n/* Every optimizer state array (optimizer.SLOT.NAME, as in checkpoints): name, offset, shape. Ends with a NULL name. */\n"
        out += "const \(names.model)_tensor \(names.model)_state_tensors[\(names.macro("STATE_TENSOR_COUNT")) + 1] = {\n"
        for t in stateTensors {
            let dims = (t.shape.dims + [0, 0, 0, 0]).prefix(4).map(String.init).joined(separator: ", ")
            out += "    {\"\(t.name)\", \(t.offset), \(t.shape.rank), {\(dims)}, 0},\n"
        }
        out += "    {0, 0, 0, {0, 0, 0, 0}, 0},\n};\n"
        return out
    }
}
