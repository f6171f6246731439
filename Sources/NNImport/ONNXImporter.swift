// ONNXImporter: an ONNX graph → an nngen spec (one statement per ONNX node group, the node names in
// comments) and the initializers under nngen's tensor names, in nngen's layouts. Anything it cannot map
// exactly is an error naming the node — never a different model.

import Foundation
import NNGen
import NNRuntime

/// What `nngen import` writes: the spec's text and the parameters and buffers.
public struct ImportedModel: Sendable {
    public var name: String
    public var spec: String
    public var tensors: [(name: String, tensor: HostTensor)]
    /// Things the user should know (folded softmax, PyTorch's unbiased running variance, ...).
    public var notes: [String]
}

public struct ImportOptions: Sendable {
    /// The batch size for a dynamic (named) batch dimension, or to replace a fixed one.
    public var batch: Int?
    public var name: String?
    /// `softmax`, `svm` or `mse`.
    public var loss = "softmax"
    /// An optimizer line's body, e.g. `sgd lr=0.05 momentum=0.9`.
    public var optimizer: String?
    public init(batch: Int? = nil, name: String? = nil, loss: String = "softmax", optimizer: String? = nil) {
        self.batch = batch
        self.name = name
        self.loss = loss
        self.optimizer = optimizer
    }
}

public enum ONNXImporter {
    /// The operators nngen maps, for the error on any other.
    public static let supported = [
        "Gemm", "MatMul (+ Add)", "Conv", "BatchNormalization", "LayerNormalization", "InstanceNormalization", "Relu", "LeakyRelu",
        "Gelu (and its Erf form)", "Sigmoid", "Tanh", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape to [N, -1]",
        "Add", "Concat", "Dropout", "Identity", "a final Softmax or LogSoftmax",
        "Constant, Shape, Gather, Unsqueeze, Concat, Cast of constants",
    ]

    public static func importModel(path: String, options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        var importer = try Importer(graph: ONNXGraph(path: path), path: path, options: options)
        return try importer.run()
    }

    /// The same for the bytes of an ONNX file (`origin` names it in errors and is the default model name).
    public static func importModel(bytes: [UInt8], origin: String, options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        var importer = try Importer(graph: ONNXGraph(bytes: bytes, origin: origin), path: origin, options: options)
        return try importer.run()
    }
}

/// A value of the graph: a tensor nngen computes (the input or a statement's output) or a constant.
private enum Value {
    /// `source`: the nngen layer (or input) name; `shape`: its ONNX shape (flattening changes it).
    case tensor(source: String, shape: [Int])
    case constant(ONNXConstant)
}

private struct Statement {
    var kind: String
    var name: String
    var attributes: [(String, String)]
    var sources: [String]
    var comment: String
}

private struct Importer {
    var graph: ONNXGraph
    var path: String
    var options: ImportOptions
    var values: [String: Value] = [:]
    var statements: [Statement] = []
    var tensors: [(name: String, tensor: HostTensor)] = []
    var notes: [String] = []
    var taken: Set<String> = ["loss"]
    var element: ElementType = .float32
    /// Nodes already consumed by a fused group (MatMul + Add, the Erf form of GELU).
    var consumed: Set<Int> = []

    init(graph: ONNXGraph, path: String, options: ImportOptions) throws {
        self.graph = graph
        self.path = path
        self.options = options
    }

    func error(_ node: ONNXNode, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(file: path, "\(node.described): \(message)", hint: hint)
    }

    mutating func run() throws -> ImportedModel {
        switch graph.elementType {
        case ONNXGraph.float: element = .float32
        case ONNXGraph.double: element = .float64
        default:
            throw Diagnostic(
                file: path, "input '\(graph.inputName)' has ONNX element type \(graph.elementType); nngen imports float and double models")
        }
        var dims: [Int] = []
        for (index, dim) in graph.inputDims.enumerated() {
            if index == 0, let batch = options.batch {
                dims.append(batch)
            } else if let dim {
                dims.append(dim)
            } else if index == 0 {
                throw Diagnostic(
                    file: path, "input '\(graph.inputName)' has a dynamic batch dimension", hint: "give the batch size: --batch 64")
            } else {
                throw Diagnostic(
                    file: path, "input '\(graph.inputName)' dimension \(index) is dynamic; nngen compiles static shapes only",
                    hint: "export with a fixed input shape")
            }
        }
        guard dims.count == 2 || dims.count == 4, Self.elements(dims) != nil else {
            throw Diagnostic(
                file: path, "input '\(graph.inputName)' has shape \(dims); nngen takes [N, D] or [N, C, H, W] of at most 2^31 values")
        }
        let inputName = sanitized(graph.inputName, fallback: "x")
        taken.insert(inputName.lowercased())
        values[graph.inputName] = .tensor(source: inputName, shape: dims)
        for (name, constant) in graph.constants { values[name] = .constant(constant) }

        for index in graph.nodes.indices where !consumed.contains(index) {
            try convert(index)
        }
        guard let outputName = graph.outputNames.first, graph.outputNames.count == 1 else {
            throw Diagnostic(file: path, "the model has \(graph.outputNames.count) outputs; nngen imports models with one")
        }
        guard case .tensor(let last, _)? = values[outputName], let final = statements.last, final.name == last else {
            throw Diagnostic(
                file: path, "the model output '\(outputName)' is not computed by its last node",
                hint: "export a model whose output is its last layer")
        }
        var name = options.name ?? sanitized(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, fallback: "imported")
        if name.lowercased().hasPrefix("nngen") { name = "m_" + name }
        let spec = specText(name: name, inputName: inputName, dims: dims)
        // The spec must check, and the tensors fit it exactly: otherwise this is an importer bug, said so.
        let checked: ShapedGraph
        do {
            checked = try ShapeInference.load(spec, path: name + ".spec")
        } catch let diagnostic as Diagnostic {
            throw Diagnostic(file: path, "the imported spec does not check: \(diagnostic.description)\n\(spec)")
        }
        _ = try CompiledModel.checkedTensors(
            tensors, plan: MemoryPlan.plan(checked), modelName: name, dtype: checked.dtype, origin: path + " (imported tensors)")
        return ImportedModel(name: name, spec: spec, tensors: tensors, notes: notes)
    }

    // MARK: Values

    func tensor(_ name: String, _ node: ONNXNode) throws -> (source: String, shape: [Int]) {
        switch values[name] {
        case .tensor(let source, let shape)?: return (source, shape)
        case .constant?: throw error(node, "input '\(name)' is a constant where nngen needs a computed tensor")
        case nil: throw error(node, "input '\(name)' is produced by no node nngen imported")
        }
    }

    func constant(_ name: String, _ node: ONNXNode) throws -> ONNXConstant {
        guard case .constant(let c)? = values[name] else {
            throw error(node, "input '\(name)' must be a constant (an initializer) for nngen to import it")
        }
        return c
    }

    func optionalConstant(_ node: ONNXNode, _ index: Int) throws -> ONNXConstant? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        return try constant(node.inputs[index], node)
    }

    /// How many nodes read a value.
    func readers(of value: String) -> [Int] {
        graph.nodes.indices.filter { graph.nodes[$0].inputs.contains(value) }
    }

    // MARK: Names

    func sanitized(_ text: String, fallback: String) -> String {
        var name = String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        while name.contains("__") { name = name.replacingOccurrences(of: "__", with: "_") }
        name = String(name.drop { $0 == "_" })
        while name.hasSuffix("_") { name.removeLast() }
        if name.isEmpty { name = fallback }
        if name.first?.isNumber == true { name = "l_" + name }
        return name
    }

    /// A unique layer name: from the parameter's name (`fc1.weight` → `fc1`), else the node's path
    /// (`/layer1/0/relu/Relu` → `layer1_0_relu`), else the kind.
    mutating func claim(_ node: ONNXNode, kind: String, weight: String? = nil) -> String {
        var base: String
        if let weight, let dot = weight.lastIndex(of: "."), dot != weight.startIndex {
            base = sanitized(String(weight[..<dot]), fallback: kind)
        } else {
            var parts = node.name.split(separator: "/").map(String.init)
            if parts.count > 1 { parts.removeLast() }  // the op type torch appends
            base = sanitized(parts.joined(separator: "_"), fallback: kind)
            if base.lowercased() == node.opType.lowercased() || base.isEmpty { base = kind }
        }
        if base.lowercased().hasPrefix("nngen") { base = "l_" + base }
        var name = base
        var n = 2
        while taken.contains(name.lowercased()) {
            name = "\(base)_\(n)"
            n += 1
        }
        taken.insert(name.lowercased())
        return name
    }

    // MARK: Statements

    mutating func emit(
        _ node: ONNXNode, kind: String, name: String, sources: [String], attributes: [(String, String)], output: [Int],
        extra: [String] = []
    ) throws {
        guard Self.elements(output) != nil else { throw error(node, "its output shape \(output) is empty or too large") }
        let comment = ([node.name.isEmpty ? node.opType : "\(node.name) (\(node.opType))"] + extra).joined(separator: ", ")
        statements.append(Statement(kind: kind, name: name, attributes: attributes, sources: sources, comment: comment))
        if let out = node.outputs.first { values[out] = .tensor(source: name, shape: output) }
    }

    mutating func store(_ name: String, _ dims: [Int], _ values: [Double]) {
        tensors.append((name, HostTensor(shape: dims, doubles: values, as: element)))
    }

    /// An attribute value as the spec writes it. ONNX stores float attributes as float32: the shortest
    /// decimal of that float (epsilon 1e-05, not 9.999999747378752e-06) is what the exporter was given.
    func format(_ value: Double) -> String { "\(Float(value))" }

    /// The elements of a shape, or nil when a dimension is below 1 or the count passes 2^31.
    static func elements(_ shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            guard d >= 1 else { return nil }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 31 else { return nil }
            count = p
        }
        return count
    }

    /// A whole number of a constant, refused when it is not one (NaN, a fraction, beyond ±2^40).
    func integer(_ value: Double, _ node: ONNXNode) throws -> Int {
        guard value.isFinite, value == value.rounded(), abs(value) <= 0x1p40 else { throw error(node, "\(value) is not a whole number") }
        return Int(value)
    }

    /// Window attributes in range: kernel, stride and dilation 1...65536, padding 0...65536.
    func checkWindow(_ node: ONNXNode, kernel: [Int], strides: [Int], dilations: [Int], pads: [Int]) throws {
        let valid = (kernel + strides + dilations).allSatisfy { (1...65536).contains($0) } && pads.allSatisfy { (0...65536).contains($0) }
        guard valid else {
            throw error(node, "kernel_shape \(kernel), strides \(strides), dilations \(dilations) or pads \(pads) are out of range")
        }
    }

    func pair(_ values: [Int]) -> String { values.count == 2 && values[0] != values[1] ? "\(values[0])x\(values[1])" : "\(values[0])" }

    // MARK: Nodes

    /// The inputs each operator needs at least (1 for the others).
    static let minimumInputs = [
        "Gemm": 2, "MatMul": 2, "Conv": 2, "BatchNormalization": 5, "InstanceNormalization": 3, "LayerNormalization": 2, "Add": 2,
        "Div": 2, "Reshape": 2, "Gather": 2,
    ]

    mutating func convert(_ index: Int) throws {
        let node = graph.nodes[index]
        let needed = Self.minimumInputs[node.opType] ?? 1
        guard node.inputs.count >= needed, node.inputs.prefix(needed).allSatisfy({ !$0.isEmpty }) else {
            throw error(node, "has \(node.inputs.count) inputs; \(node.opType) needs \(needed)")
        }
        switch node.opType {
        case "Gemm": try gemm(node)
        case "MatMul": try matmul(node, index)
        case "Conv": try conv(node)
        case "BatchNormalization": try batchnorm(node)
        case "InstanceNormalization": try instanceNorm(node)
        case "LayerNormalization": try layerNorm(node)
        case "Relu", "Sigmoid", "Tanh":
            let x = try tensor(node.inputs[0], node)
            let kind = node.opType.lowercased()
            try emit(node, kind: kind, name: claim(node, kind: kind), sources: [x.source], attributes: [], output: x.shape)
        case "LeakyRelu":
            let x = try tensor(node.inputs[0], node)
            try emit(
                node, kind: "leakyrelu", name: claim(node, kind: "leakyrelu"), sources: [x.source],
                attributes: [("slope", format(node.float("alpha", 0.01)))], output: x.shape)
        case "Gelu":
            guard (node.string("approximate") ?? "none") == "none" else {
                throw error(node, "the tanh approximation of GELU is not available")
            }
            let x = try tensor(node.inputs[0], node)
            try emit(node, kind: "gelu", name: claim(node, kind: "gelu"), sources: [x.source], attributes: [], output: x.shape)
        case "Div": try geluPattern(index)
        case "MaxPool", "AveragePool": try pool(node)
        case "GlobalAveragePool":
            let x = try tensor(node.inputs[0], node)
            guard x.shape.count == 4 else { throw error(node, "expects [N, C, H, W], got \(x.shape)") }
            try emit(
                node, kind: "globalavgpool", name: claim(node, kind: "globalavgpool"), sources: [x.source], attributes: [],
                output: [x.shape[0], x.shape[1], 1, 1])
        case "Flatten":
            let x = try tensor(node.inputs[0], node)
            guard node.int("axis", 1) == 1 else { throw error(node, "only Flatten with axis 1 ([N, rest]) maps to nngen") }
            values[node.outputs[0]] = .tensor(source: x.source, shape: [x.shape[0], Self.elements(Array(x.shape.dropFirst())) ?? 0])
        case "Reshape": try reshape(node)
        case "Identity":
            values[node.outputs[0]] = values[node.inputs[0]]
        case "Dropout":
            let x = try tensor(node.inputs[0], node)
            let ratio = try optionalConstant(node, 1)?.values.first ?? node.float("ratio", 0.5)
            try requireUnused(node, outputsAfter: 1)
            if ratio == 0 {
                values[node.outputs[0]] = values[node.inputs[0]]
            } else {
                try emit(
                    node, kind: "dropout", name: claim(node, kind: "dropout"), sources: [x.source],
                    attributes: [("keep", format(1 - ratio))],
                    output: x.shape)
            }
        case "Add": try add(node)
        case "Concat": try concat(node)
        case "Softmax", "LogSoftmax":
            let x = try tensor(node.inputs[0], node)
            guard graph.outputNames.contains(node.outputs[0]), x.shape.count == 2 else {
                throw error(node, "a \(node.opType) inside the network is not available; only a final one, folded into the loss")
            }
            values[node.outputs[0]] = values[node.inputs[0]]
            notes.append("the final \(node.opType) is folded into 'loss \(options.loss)': the network output is the logits")
        case "Shape", "Gather", "Unsqueeze", "Cast", "Squeeze": try fold(node)
        default:
            throw error(
                node, "operator \(node.opType) is not supported", hint: "nngen imports: " + ONNXImporter.supported.joined(separator: ", "))
        }
    }

    /// Requires that only a node's first output is read (training-mode batchnorm and dropout have more).
    func requireUnused(_ node: ONNXNode, outputsAfter first: Int) throws {
        for output in node.outputs.dropFirst(first) where !output.isEmpty && !readers(of: output).isEmpty {
            throw error(node, "its output '\(output)' is read by another node; nngen computes only the first output")
        }
    }

    mutating func gemm(_ node: ONNXNode) throws {
        let x = try tensor(node.inputs[0], node)
        guard x.shape.count == 2 else { throw error(node, "expects a [N, D] input, got \(x.shape)") }
        guard node.int("transA", 0) == 0 else { throw error(node, "transA=1 (a transposed input) is not available") }
        let b = try constant(node.inputs[1], node)
        let transB = node.int("transB", 0) == 1
        guard b.dims.count == 2 else { throw error(node, "the weight has dimensions \(b.dims)") }
        let (k, m) = transB ? (b.dims[1], b.dims[0]) : (b.dims[0], b.dims[1])
        guard k == x.shape[1] else { throw error(node, "the weight \(b.dims) does not fit the input \(x.shape)") }
        let alpha = node.float("alpha", 1)
        let beta = node.float("beta", 1)
        // nngen's weight is [D, M]; PyTorch's Linear exports [M, D] with transB=1.
        let weight = (transB ? LinearWeight.transposed(b.values, rows: m, cols: k) : b.values).map { alpha * $0 }
        let bias = try optionalConstant(node, 2)
        try affine(
            node, x: x, weight: weight, k: k, m: m, bias: bias.map { c in try broadcastBias(c, m, node).map { beta * $0 } },
            weightName: node.inputs[1])
    }

    func broadcastBias(_ c: ONNXConstant, _ m: Int, _ node: ONNXNode) throws -> [Double] {
        if c.count == m { return c.values }
        if c.count == 1 { return Array(repeating: c.values[0], count: m) }
        throw error(node, "the bias has dimensions \(c.dims); nngen's affine takes one bias per output [\(m)]")
    }

    mutating func affine(
        _ node: ONNXNode, x: (source: String, shape: [Int]), weight: [Double], k: Int, m: Int, bias: [Double]?, weightName: String,
        extra: [String] = []
    ) throws {
        let name = claim(node, kind: "affine", weight: weightName)
        store("\(name).weight", [k, m], weight)
        if let bias { store("\(name).bias", [m], bias) }
        try emit(
            node, kind: "affine", name: name, sources: [x.source], attributes: [("out", "\(m)")] + (bias == nil ? [("bias", "false")] : []),
            output: [x.shape[0], m], extra: extra)
    }

    mutating func matmul(_ node: ONNXNode, _ index: Int) throws {
        let x = try tensor(node.inputs[0], node)
        let w = try constant(node.inputs[1], node)
        guard x.shape.count == 2, w.dims.count == 2, w.dims[0] == x.shape[1] else {
            throw error(node, "nngen maps MatMul of a [N, D] tensor by a constant [D, M] matrix; got \(x.shape) × \(w.dims)")
        }
        // MatMul followed by an Add of a constant vector: one affine with its bias.
        var bias: [Double]?
        var extra: [String] = []
        let next = readers(of: node.outputs[0])
        var output = node
        if next.count == 1, let add = next.first, graph.nodes[add].opType == "Add" {
            let other = graph.nodes[add].inputs.first { $0 != node.outputs[0] } ?? ""
            if case .constant(let c)? = values[other] {
                bias = try broadcastBias(c, w.dims[1], graph.nodes[add])
                consumed.insert(add)
                extra.append("\(graph.nodes[add].name) (Add)")
                output.outputs = graph.nodes[add].outputs
            }
        }
        try affine(output, x: x, weight: w.values, k: w.dims[0], m: w.dims[1], bias: bias, weightName: node.inputs[1], extra: extra)
    }

    mutating func conv(_ node: ONNXNode) throws {
        let x = try tensor(node.inputs[0], node)
        let w = try constant(node.inputs[1], node)
        guard x.shape.count == 4, w.dims.count == 4 else {
            throw error(node, "nngen maps 2-D convolutions: input \(x.shape), weight \(w.dims)")
        }
        let autoPad = node.string("auto_pad") ?? "NOTSET"
        guard autoPad == "NOTSET" || autoPad == "VALID" else {
            throw error(node, "auto_pad=\(autoPad) is not available", hint: "export with explicit pads")
        }
        let kernel = node.ints("kernel_shape") ?? [w.dims[2], w.dims[3]]
        let strides = node.ints("strides") ?? [1, 1]
        let dilations = node.ints("dilations") ?? [1, 1]
        let pads = node.ints("pads") ?? [0, 0, 0, 0]
        let groups = node.int("group", 1)
        guard kernel == [w.dims[2], w.dims[3]], strides.count == 2, dilations.count == 2, pads.count == 4 else {
            throw error(
                node, "kernel_shape \(kernel), strides \(strides), dilations \(dilations), pads \(pads) do not describe a 2-D convolution")
        }
        guard pads[0] == pads[2], pads[1] == pads[3] else {
            throw error(node, "asymmetric padding \(pads) is not available; nngen pads every side alike (PyTorch's padding=)")
        }
        try checkWindow(node, kernel: kernel, strides: strides, dilations: dilations, pads: pads)
        guard (1...65536).contains(groups) else { throw error(node, "group \(groups) is out of range") }
        let name = claim(node, kind: "conv", weight: node.inputs[1])
        store("\(name).weight", w.dims, w.values)  // [F, C/G, KH, KW]: nngen's layout too
        let bias = try optionalConstant(node, 2)
        if let bias { store("\(name).bias", [w.dims[0]], bias.values) }
        var attributes = [("filters", "\(w.dims[0])"), ("size", pair(kernel))]
        if strides != [1, 1] { attributes.append(("stride", pair(strides))) }
        if pads[0] != 0 || pads[1] != 0 { attributes.append(("pad", pair([pads[0], pads[1]]))) }
        if dilations != [1, 1] { attributes.append(("dilation", pair(dilations))) }
        if groups != 1 { attributes.append(("groups", "\(groups)")) }
        if bias == nil { attributes.append(("bias", "false")) }
        func size(_ i: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int { (i + 2 * p - d * (k - 1) - 1) / s + 1 }
        let output = [
            x.shape[0], w.dims[0], size(x.shape[2], kernel[0], strides[0], pads[0], dilations[0]),
            size(x.shape[3], kernel[1], strides[1], pads[1], dilations[1]),
        ]
        try emit(node, kind: "conv", name: name, sources: [x.source], attributes: attributes, output: output)
    }

    mutating func batchnorm(_ node: ONNXNode) throws {
        let x = try tensor(node.inputs[0], node)
        guard node.inputs.count >= 5 else { throw error(node, "needs scale, bias, mean and variance") }
        let scale = try constant(node.inputs[1], node)
        let bias = try constant(node.inputs[2], node)
        let mean = try constant(node.inputs[3], node)
        let variance = try constant(node.inputs[4], node)
        try requireUnused(node, outputsAfter: 1)
        let channels = x.shape[1]
        guard [scale, bias, mean, variance].allSatisfy({ $0.count == channels }) else {
            throw error(node, "its statistics do not have \(channels) values")
        }
        let name = claim(node, kind: "batchnorm", weight: node.inputs[1])
        store("\(name).gamma", [channels], scale.values)
        store("\(name).beta", [channels], bias.values)
        store("\(name).running_mean", [channels], mean.values)
        store("\(name).running_var", [channels], variance.values)
        try emit(
            node, kind: "batchnorm", name: name, sources: [x.source],
            attributes: [("eps", format(node.float("epsilon", 1e-5))), ("momentum", format(node.float("momentum", 0.9)))], output: x.shape)
        if !notes.contains(where: { $0.contains("running_var") }) {
            notes.append(
                "batchnorm running_var is copied as the file has it; nngen's own training updates it with the biased batch variance, PyTorch's with the unbiased one"
            )
        }
    }

    mutating func instanceNorm(_ node: ONNXNode) throws {
        let x = try tensor(node.inputs[0], node)
        let scale = try constant(node.inputs[1], node)
        let bias = try constant(node.inputs[2], node)
        guard x.shape.count == 4, scale.count == x.shape[1], bias.count == x.shape[1] else {
            throw error(node, "nngen maps InstanceNormalization of [N, C, H, W] with scale and bias [C] (as groupnorm groups=C)")
        }
        let name = claim(node, kind: "groupnorm", weight: node.inputs[1])
        store("\(name).gamma", [x.shape[1]], scale.values)
        store("\(name).beta", [x.shape[1]], bias.values)
        try emit(
            node, kind: "groupnorm", name: name, sources: [x.source],
            attributes: [("groups", "\(x.shape[1])"), ("eps", format(node.float("epsilon", 1e-5)))], output: x.shape)
    }

    mutating func layerNorm(_ node: ONNXNode) throws {
        let x = try tensor(node.inputs[0], node)
        let axis = node.int("axis", -1)
        guard axis == 1 || axis == 1 - x.shape.count || (x.shape.count == 2 && axis == -1) else {
            throw error(node, "nngen's layernorm normalizes every value of a sample: axis 1, got \(axis) on \(x.shape)")
        }
        let features = Self.elements(Array(x.shape.dropFirst())) ?? 0
        let scale = try constant(node.inputs[1], node)
        let bias = try optionalConstant(node, 2)
        guard scale.count == features, bias?.count ?? features == features else {
            throw error(node, "its scale and bias do not have \(features) values")
        }
        try requireUnused(node, outputsAfter: 1)
        let name = claim(node, kind: "layernorm", weight: node.inputs[1])
        store("\(name).gamma", [features], scale.values)
        store("\(name).beta", [features], bias?.values ?? Array(repeating: 0, count: features))
        try emit(
            node, kind: "layernorm", name: name, sources: [x.source], attributes: [("eps", format(node.float("epsilon", 1e-5)))],
            output: x.shape)
    }

    mutating func pool(_ node: ONNXNode) throws {
        let x = try tensor(node.inputs[0], node)
        guard x.shape.count == 4, let kernel = node.ints("kernel_shape"), kernel.count == 2 else {
            throw error(node, "expects [N, C, H, W] and a 2-D kernel_shape")
        }
        let strides = node.ints("strides") ?? [1, 1]
        let pads = node.ints("pads") ?? [0, 0, 0, 0]
        guard (node.ints("dilations") ?? [1, 1]) == [1, 1] else { throw error(node, "dilated pooling is not available") }
        guard (node.string("auto_pad") ?? "NOTSET") == "NOTSET", pads.count == 4, pads[0] == pads[2], pads[1] == pads[3] else {
            throw error(node, "asymmetric or automatic padding \(pads) is not available")
        }
        guard strides.count == 2 else { throw error(node, "strides \(strides) are not 2-D") }
        try checkWindow(node, kernel: kernel, strides: strides, dilations: [1, 1], pads: pads)
        try requireUnused(node, outputsAfter: 1)
        let ceil = node.int("ceil_mode", 0) == 1
        let kind = node.opType == "MaxPool" ? "maxpool" : "avgpool"
        var attributes = [("size", pair(kernel)), ("stride", pair(strides))]
        if pads[0] != 0 || pads[1] != 0 { attributes.append(("pad", pair([pads[0], pads[1]]))) }
        if ceil { attributes.append(("ceil", "true")) }
        if kind == "avgpool" { attributes.append(("count_pad", node.int("count_include_pad", 0) == 1 ? "true" : "false")) }
        func size(_ i: Int, _ k: Int, _ s: Int, _ p: Int) -> Int {
            let span = i + 2 * p - k
            var o = (ceil ? (span + s - 1) / s : span / s) + 1
            if ceil, (o - 1) * s >= i + p { o -= 1 }  // PyTorch: the last window starts inside the input
            return o
        }
        let output = [
            x.shape[0], x.shape[1], size(x.shape[2], kernel[0], strides[0], pads[0]), size(x.shape[3], kernel[1], strides[1], pads[1]),
        ]
        try emit(node, kind: kind, name: claim(node, kind: kind), sources: [x.source], attributes: attributes, output: output)
    }

    mutating func reshape(_ node: ONNXNode) throws {
        let x = try tensor(node.inputs[0], node)
        let shape = try constant(node.inputs[1], node).values.map { try integer($0, node) }
        let total = Self.elements(x.shape) ?? 0
        let rest = total / max(x.shape[0], 1)
        let flat =
            shape.count == 2 && (shape[0] == x.shape[0] || shape[0] == 0 || (shape[0] == -1 && shape[1] == rest))
            && (shape[1] == -1 || shape[1] == rest)
        guard flat else {
            throw error(node, "only a reshape to [N, -1] (flattening each sample) maps to nngen; got \(shape) on \(x.shape)")
        }
        values[node.outputs[0]] = .tensor(source: x.source, shape: [x.shape[0], rest])
    }

    mutating func add(_ node: ONNXNode) throws {
        let a = try tensor(node.inputs[0], node)
        let b = try tensor(node.inputs[1], node)
        guard a.shape == b.shape else {
            throw error(node, "adds \(a.shape) and \(b.shape); nngen's add takes inputs of one shape (no broadcasting)")
        }
        try emit(node, kind: "add", name: claim(node, kind: "add"), sources: [a.source, b.source], attributes: [], output: a.shape)
    }

    mutating func concat(_ node: ONNXNode) throws {
        if node.inputs.allSatisfy({ if case .constant? = values[$0] { true } else { false } }) { return try fold(node) }
        let parts = try node.inputs.map { try tensor($0, node) }
        guard let first = parts.first, node.int("axis", 1) == 1 || node.int("axis", 1) == 1 - first.shape.count else {
            throw error(node, "nngen concatenates along channels or features (axis 1)")
        }
        guard
            parts.allSatisfy({
                $0.shape.count == first.shape.count && $0.shape[0] == first.shape[0]
                    && Array($0.shape.dropFirst(2)) == Array(first.shape.dropFirst(2))
            })
        else { throw error(node, "its inputs \(parts.map(\.shape)) differ in more than the channels") }
        var output = first.shape
        output[1] = parts.map { $0.shape[1] }.reduce(0, +)
        try emit(node, kind: "concat", name: claim(node, kind: "concat"), sources: parts.map(\.source), attributes: [], output: output)
    }

    /// torch's GELU below opset 20: y = x · (erf(x / √2) + 1) · 0.5, as Div → Erf → Add → Mul → Mul.
    mutating func geluPattern(_ index: Int) throws {
        let div = graph.nodes[index]
        guard case .tensor(let source, let shape)? = values[div.inputs[0]], case .constant(let c)? = values[div.inputs[1]], c.count == 1,
            abs(c.values[0] - 2.0.squareRoot()) < 1e-5
        else { throw error(div, "only the division of GELU's erf form (x / √2) maps to nngen") }
        func only(_ value: String, _ op: String) -> Int? {
            let r = readers(of: value)
            return r.count == 1 && graph.nodes[r[0]].opType == op ? r[0] : nil
        }
        func isConstant(_ name: String, _ v: Double) -> Bool {
            if case .constant(let k)? = values[name], k.count == 1, abs(k.values[0] - v) < 1e-6 { return true }
            return false
        }
        guard let erf = only(div.outputs[0], "Erf"), let plus = only(graph.nodes[erf].outputs[0], "Add"),
            graph.nodes[plus].inputs.contains(where: { isConstant($0, 1) }), let times = only(graph.nodes[plus].outputs[0], "Mul"),
            graph.nodes[times].inputs.contains(div.inputs[0]), let half = only(graph.nodes[times].outputs[0], "Mul"),
            graph.nodes[half].inputs.contains(where: { isConstant($0, 0.5) })
        else { throw error(div, "only the division of GELU's erf form (x / √2, erf, + 1, × x, × 0.5) maps to nngen") }
        consumed.formUnion([erf, plus, times, half])
        var node = div
        node.outputs = graph.nodes[half].outputs
        let names = [erf, plus, times, half].map { graph.nodes[$0].name }
        try emit(node, kind: "gelu", name: claim(node, kind: "gelu"), sources: [source], attributes: [], output: shape, extra: names)
    }

    /// Shape arithmetic exporters write around Flatten and Reshape, folded to constants.
    mutating func fold(_ node: ONNXNode) throws {
        let out = node.outputs[0]
        switch node.opType {
        case "Shape":
            let x = try tensor(node.inputs[0], node)
            values[out] = .constant(ONNXConstant(dims: [x.shape.count], values: x.shape.map(Double.init)))
        case "Gather":
            let data = try constant(node.inputs[0], node)
            let indices = try constant(node.inputs[1], node)
            guard data.dims.count == 1, node.int("axis", 0) == 0 else { throw error(node, "only a Gather from a 1-D constant folds") }
            let picked = try indices.values.map { v -> Double in
                let k = try integer(v, node)
                let i = k < 0 ? k + data.count : k
                guard i >= 0, i < data.count else { throw error(node, "index \(k) is out of range") }
                return data.values[i]
            }
            values[out] = .constant(ONNXConstant(dims: indices.dims, values: picked))
        case "Unsqueeze", "Squeeze", "Cast":
            let c = try constant(node.inputs[0], node)
            values[out] = .constant(ONNXConstant(dims: c.count == 1 ? [1] : c.dims, values: c.values))
        case "Concat":
            let parts = try node.inputs.map { try constant($0, node) }
            let joined = parts.flatMap(\.values)
            values[out] = .constant(ONNXConstant(dims: [joined.count], values: joined))
        default:
            throw error(node, "cannot fold \(node.opType)")
        }
    }

    // MARK: Output

    func specText(name: String, inputName: String, dims: [Int]) -> String {
        var lines = [
            "# Imported by nngen import from \(URL(fileURLWithPath: path).lastPathComponent)"
                + (graph.producer.isEmpty ? "" : " (\(graph.producer), opset \(graph.opset))") + "; each comment names its ONNX node(s).",
            "model \(name)",
            "input \(inputName) [\(dims.map(String.init).joined(separator: ", "))]",
        ]
        if element == .float64 { lines.append("dtype float64") }
        lines.append("")
        var previous = inputName
        let width = statements.map { $0.kind.count }.max() ?? 0
        for s in statements {
            var text = s.kind.padding(toLength: width, withPad: " ", startingAt: 0) + " " + s.name
            if s.sources != [previous] { text += " from=" + s.sources.joined(separator: ",") }
            for (key, value) in s.attributes { text += " \(key)=\(value)" }
            lines.append(text + "  # " + s.comment)
            previous = s.name
        }
        lines.append("loss \(options.loss)")
        if let optimizer = options.optimizer { lines.append("optimizer \(optimizer)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
