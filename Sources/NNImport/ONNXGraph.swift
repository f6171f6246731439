// ONNXGraph: an ONNX model file decoded (swift-protobuf, the official schema) into what the importer reads —
// the input, the constants (initializers and Constant nodes), the nodes in order — with every size checked.

import Foundation
import NNGen
import NNRuntime
import SwiftProtobuf

/// A constant tensor of an ONNX graph, as doubles (row-major) with its dimensions.
public struct ONNXConstant: Sendable {
    public var dims: [Int]
    public var values: [Double]
    public var count: Int { dims.reduce(1, *) }
}

/// One node: its op type, name, inputs and outputs by value name, and attributes.
struct ONNXNode {
    var opType: String
    var name: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [String: Onnx_AttributeProto]

    /// `Conv '/conv1/Conv' (inputs x, conv1.weight, conv1.bias)`, for errors.
    var described: String {
        "\(opType) '\(name.isEmpty ? outputs.first ?? "?" : name)' (inputs \(inputs.filter { !$0.isEmpty }.joined(separator: ", ")))"
    }

    func int(_ key: String, _ fallback: Int) -> Int { attributes[key].map { Int($0.i) } ?? fallback }
    func float(_ key: String, _ fallback: Double) -> Double { attributes[key].map { Double($0.f) } ?? fallback }
    func ints(_ key: String) -> [Int]? { attributes[key].map { $0.ints.map { Int($0) } } }
    func string(_ key: String) -> String? { attributes[key].map { String(decoding: $0.s, as: UTF8.self) } }
}

struct ONNXGraph {
    var inputName: String
    /// The input's dimensions; nil where the file gives a name (a dynamic dimension) instead of a number.
    var inputDims: [Int?]
    var elementType: Int32
    var outputNames: [String]
    var constants: [String: ONNXConstant]
    var nodes: [ONNXNode]
    var opset: Int
    var producer: String

    /// The largest ONNX file read: 2 GiB (protobuf's own limit).
    static let byteLimit = Int(Int32.max)

    static let float = Int32(Onnx_TensorProto.DataType.float.rawValue)
    static let double = Int32(Onnx_TensorProto.DataType.double.rawValue)

    init(path: String) throws {
        try self.init(bytes: try FileBytes.read(path, limit: Self.byteLimit, what: "ONNX model"), origin: path)
    }

    /// Decodes the bytes of an ONNX file; `origin` names it in errors.
    init(bytes: [UInt8], origin path: String) throws {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: bytes)
        } catch {
            throw Diagnostic(
                file: path, "not an ONNX model: the protobuf does not decode (\(error))", hint: "export it with torch.onnx.export")
        }
        guard model.hasGraph else { throw Diagnostic(file: path, "the ONNX model has no graph") }
        let graph = model.graph
        opset = Int(model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version ?? 0)
        producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")

        var constants: [String: ONNXConstant] = [:]
        for tensor in graph.initializer { constants[tensor.name] = try Self.constant(tensor, origin: path) }
        var nodes: [ONNXNode] = []
        for node in graph.node {
            var attributes: [String: Onnx_AttributeProto] = [:]
            for attribute in node.attribute { attributes[attribute.name] = attribute }
            let parsed = ONNXNode(opType: node.opType, name: node.name, inputs: node.input, outputs: node.output, attributes: attributes)
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw Diagnostic(
                    file: path, "\(parsed.described) is in operator domain '\(node.domain)'; nngen imports the standard ONNX operators only"
                )
            }
            guard let first = node.output.first, !first.isEmpty else { throw Diagnostic(file: path, "\(parsed.described) has no output") }
            if node.opType == "Constant" {
                guard let value = attributes["value"], value.hasT, let output = node.output.first else {
                    throw Diagnostic(file: path, "\(parsed.described): only Constant nodes with a tensor 'value' are supported")
                }
                constants[output] = try Self.constant(value.t, origin: path)
                continue
            }
            nodes.append(parsed)
        }
        let inputs = graph.input.filter { constants[$0.name] == nil }
        guard inputs.count == 1, let input = inputs.first else {
            throw Diagnostic(
                file: path,
                "the model has \(inputs.count) inputs (\(inputs.map(\.name).joined(separator: ", "))); nngen imports models with one input")
        }
        guard input.type.tensorType.hasShape else {
            throw Diagnostic(file: path, "input '\(input.name)' has no shape", hint: "export with a fixed example input")
        }
        inputName = input.name
        inputDims = input.type.tensorType.shape.dim.map { dimension in
            if case .dimValue(let v)? = dimension.value, v > 0, v <= Int64(Int32.max) { return Int(v) }
            return nil
        }
        elementType = input.type.tensorType.elemType
        outputNames = graph.output.map(\.name)
        self.constants = constants
        self.nodes = nodes
    }

    /// A TensorProto's values: float, double, int32/int64 (shape arithmetic) or bool, from raw_data or the
    /// typed fields, with their count checked against the dimensions.
    static func constant(_ tensor: Onnx_TensorProto, origin: String) throws -> ONNXConstant {
        guard tensor.dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else {
            throw Diagnostic(file: origin, "tensor '\(tensor.name)' has dimensions \(tensor.dims)")
        }
        let dims = tensor.dims.map { Int($0) }
        let (count, overflow) = dims.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, count <= 1 << 31 else { throw Diagnostic(file: origin, "tensor '\(tensor.name)' is too large: \(dims)") }
        guard !tensor.hasDataLocation || tensor.dataLocation == .default else {
            throw Diagnostic(
                file: origin, "tensor '\(tensor.name)' keeps its data in an external file",
                hint: "save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))")
        }
        let raw = tensor.rawData
        let values: [Double]
        switch Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)) {
        case .float?:
            values =
                raw.isEmpty
                ? tensor.floatData.map(Double.init)
                : try decode(raw, count, 4, tensor.name, origin) { Double(Float(bitPattern: UInt32($0))) }
        case .double?:
            values = raw.isEmpty ? tensor.doubleData : try decode(raw, count, 8, tensor.name, origin) { Double(bitPattern: $0) }
        case .int64?:
            values =
                raw.isEmpty
                ? tensor.int64Data.map(Double.init) : try decode(raw, count, 8, tensor.name, origin) { Double(Int64(bitPattern: $0)) }
        case .int32?:
            values =
                raw.isEmpty
                ? tensor.int32Data.map(Double.init)
                : try decode(raw, count, 4, tensor.name, origin) { Double(Int32(truncatingIfNeeded: $0)) }
        case .bool?:
            values = raw.isEmpty ? tensor.int32Data.map(Double.init) : try decode(raw, count, 1, tensor.name, origin) { Double($0) }
        default:
            throw Diagnostic(
                file: origin,
                "tensor '\(tensor.name)' has ONNX data type \(tensor.dataType); nngen imports float, double and integer tensors")
        }
        guard values.count == count else {
            throw Diagnostic(file: origin, "tensor '\(tensor.name)' holds \(values.count) values for dimensions \(dims) (\(count))")
        }
        return ONNXConstant(dims: dims, values: values)
    }

    /// Little-endian elements of `size` bytes, each mapped from its bit pattern.
    static func decode(_ raw: Data, _ count: Int, _ size: Int, _ name: String, _ origin: String, _ map: (UInt64) -> Double) throws
        -> [Double]
    {
        guard raw.count == count * size else {
            throw Diagnostic(file: origin, "tensor '\(name)' has \(raw.count) bytes of raw data for \(count) values of \(size) bytes")
        }
        return raw.withUnsafeBytes { buffer in
            (0..<count).map { index in
                var bits: UInt64 = 0
                for k in 0..<size { bits |= UInt64(buffer[index * size + k]) << (8 * UInt64(k)) }
                return map(bits)
            }
        }
    }
}
