// Tests for safetensors reading and writing: round trips, the exact byte layout, and every kind of bad file.
import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct SafetensorsTests {
    /// One tensor of `type` and `shape` with distinct values.
    static func sample(_ type: ElementType, _ shape: [Int]) -> HostTensor {
        let count = shape.reduce(1, *)
        return HostTensor(shape: shape, doubles: (0..<count).map { Double($0 % 200) - 50.5 }, as: type)
    }

    /// A safetensors file with the given header text and data buffer.
    static func file(header: String, data: [UInt8] = []) -> [UInt8] {
        let text = Array(header.utf8)
        return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(text.count) >> (8 * $0)) } + text + data
    }

    @Test(arguments: ElementType.allCases)
    func roundTripsEveryShape(type: ElementType) throws {
        let tensors = [[], [1], [0], [2, 3, 4]].enumerated().map { index, shape in
            (name: "t\(index)", tensor: Self.sample(type, shape))
        }
        let decoded = try Safetensors.decode(Safetensors.encode(tensors), origin: "mem.safetensors")
        #expect(decoded.tensors.map(\.name) == ["t0", "t1", "t2", "t3"])
        #expect(decoded.tensors.map(\.tensor) == tensors.map(\.tensor))
        #expect(decoded.metadata.isEmpty)
    }

    @Test func convertsValuesBetweenElementTypes() {
        let values = [-2.7, 0.5, 3.9, 300, .nan]
        #expect(HostTensor(shape: [5], doubles: values, as: .int32).integers() == [-2, 0, 3, 300, 0])
        #expect(HostTensor(shape: [5], doubles: values, as: .uint8).integers() == [0, 0, 3, 255, 0])
        #expect(HostTensor(shape: [2], doubles: [1.5, -1e300], as: .int64).integers() == [1, Int.min])
        #expect(HostTensor(shape: [2], doubles: [0.25, -8], as: .float32).doubles() == [0.25, -8])
        #expect(HostTensor(shape: [2], float64: [2.75, -1]).integers() == [2, -1])
        #expect(HostTensor(shape: [1], int32: [-5]).bytes == [0xFB, 0xFF, 0xFF, 0xFF])
        #expect(HostTensor(shape: [2, 3], float32: Array(repeating: 0, count: 6)).count == 6)
        #expect(HostTensor(shape: [], float32: [1]).count == 1)
    }

    @Test func writesTheExactBytes() throws {
        let tensors = [
            (name: "a", tensor: HostTensor(shape: [2], float32: [1, 2])),
            (name: "b", tensor: HostTensor(shape: [], int64: [7])),
        ]
        let json =
            #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}"#
        let expected: [UInt8] =
            [0x88, 0, 0, 0, 0, 0, 0, 0] + Array(json.utf8) + [0x20, 0x20, 0x20, 0x20]
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40] + [7, 0, 0, 0, 0, 0, 0, 0]
        #expect(try Safetensors.encode(tensors, metadata: ["k": "v"]) == expected)
    }

    @Test func readsInOffsetOrderAndSkipsUnknownFields() throws {
        let header =
            #"{"b": {"dtype": "U8", "shape": [1], "data_offsets": [2, 3], "extra": [{"x": null}]},"#
            + #" "caf\u00e9 \"q\"": {"data_offsets": [0, 2], "shape": [2], "dtype": "U8"},"#
            + #" "__metadata__": {"format": "pt", "emoji": "\ud83d\ude00"}}   "#
        let decoded = try Safetensors.decode(Self.file(header: header, data: [10, 11, 12]), origin: "x")
        #expect(decoded.tensors.map(\.name) == ["café \"q\"", "b"])
        #expect(decoded.tensors.map { $0.tensor.integers() } == [[10, 11], [12]])
        #expect(decoded.metadata == ["format": "pt", "emoji": "\u{1F600}"])
    }

    @Test func writesAndReadsAFileAtomically() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nngen-st-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.safetensors"
        let tensors = [
            (name: "w", tensor: Self.sample(.float32, [3, 2])), (name: "b", tensor: Self.sample(.float64, [2])),
        ]
        try Safetensors.write(tensors, metadata: ["epoch": "3"], to: path)
        try Safetensors.write(tensors, metadata: ["epoch": "4"], to: path)
        let read = try Safetensors.read(path: path)
        #expect(read.tensors.map(\.name) == ["w", "b"])
        #expect(read.tensors.map(\.tensor) == tensors.map(\.tensor))
        #expect(read.metadata == ["epoch": "4"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.safetensors"])
    }

    @Test func reportsAMissingDirectoryAndAMissingFile() {
        let path = "/nonexistent-nngen-dir/model.safetensors"
        let writeError = #expect(throws: Diagnostic.self) {
            try Safetensors.write([("w", HostTensor(shape: [1], float32: [1]))], to: path)
        }
        #expect(writeError?.location?.file == path)
        #expect(writeError?.message.contains("cannot write") == true)
        #expect(writeError?.message.contains("/nonexistent-nngen-dir") == true)
        let readError = #expect(throws: Diagnostic.self) { try Safetensors.read(path: path) }
        #expect(readError?.description.contains("\(path): error: cannot open") == true)
    }

    @Test func refusesToWriteDuplicateOrInconsistentTensors() {
        let one = HostTensor(shape: [1], float32: [1])
        let duplicate = #expect(throws: Diagnostic.self) { try Safetensors.encode([("w", one), ("w", one)]) }
        #expect(duplicate?.message.contains("two tensors are named 'w'") == true)
        let short = HostTensor(shape: [2, 2], elementType: .float32, bytes: [0, 0, 0, 0])
        let inconsistent = #expect(throws: Diagnostic.self) { try Safetensors.encode([("w", short)]) }
        #expect(inconsistent?.message.contains("has 4 bytes, but shape [2, 2] of float32 needs 16") == true)
        let reserved = #expect(throws: Diagnostic.self) { try Safetensors.encode([("__metadata__", one)]) }
        #expect(reserved?.message.contains("reserved") == true)
    }

    static let entry = #""w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}"#

    /// Bad files, each with the words its error message must contain.
    static let rejections: [(file: [UInt8], words: [String])] = [
        ([], ["file is empty"]),
        ([1, 2, 3], ["truncated", "3 bytes"]),
        ([0x00, 0xA3, 0xE1, 0x11, 0, 0, 0, 0] + Array("{}".utf8), ["header length 300000000", "100 MB"]),
        ([100, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8), ["truncated", "header length is 100", "only 2 bytes"]),
        (file(header: #"{"w": {"dtype": "F32",}"#), ["bad JSON header", "tensor 'w'", "expected a string"]),
        (file(header: "[1, 2]"), ["bad JSON header", "expected an object", "'['"]),
        (file(header: "{} x"), ["bad JSON header", "unexpected 'x'"]),
        (
            file(header: #"{"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0]),
            ["dtype 'BF16'", "not supported", "F32, F64, I32, I64, U8"]
        ),
        (
            file(header: #"{"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}"#),
            ["tensor 'w' shape", "non-negative integer", "'-2'"]
        ),
        (
            file(header: #"{"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}"#),
            ["non-negative integer", "'2.5'"]
        ),
        (
            file(header: "{\(entry)}", data: [0, 0, 0, 0]),
            ["data_offsets [0, 8]", "outside the data buffer of 4 bytes"]
        ),
        (
            file(
                header: #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 4]}}"#,
                data: [UInt8](repeating: 0, count: 8)),
            ["data_offsets [8, 4]", "outside"]
        ),
        (
            file(
                header: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#,
                data: [UInt8](repeating: 0, count: 8)),
            ["shape [3] of F32 needs 12 bytes", "span 8 bytes"]
        ),
        (file(header: "{\(entry), \(entry)}", data: [UInt8](repeating: 0, count: 8)), ["names 'w' twice"]),
        (file(header: #"{"w": {"dtype": "F32", "shape": [2]}}"#), ["tensor 'w' has no 'data_offsets'"]),
        (file(header: #"{"__metadata__": {"n": 3}}"#), ["__metadata__ 'n'", "expected a string"]),
        (file(header: "{\"w\u{01}\": 1}"), ["control character"]),
    ]

    @Test func rejectsEveryTruncation() throws {
        let whole = try Safetensors.encode([("w", Self.sample(.float32, [2, 3]))], metadata: ["k": "v"])
        for length in 0..<whole.count {
            #expect(throws: Diagnostic.self) { try Safetensors.decode(Array(whole.prefix(length)), origin: "cut") }
        }
    }

    @Test(arguments: rejections)
    func rejectsABadFile(file: [UInt8], words: [String]) {
        let error = #expect(throws: Diagnostic.self) { try Safetensors.decode(file, origin: "bad.safetensors") }
        #expect(error?.location?.file == "bad.safetensors")
        for word in words {
            #expect(error?.message.contains(word) == true, "\(error?.description ?? "no error") lacks '\(word)'")
        }
    }
}
