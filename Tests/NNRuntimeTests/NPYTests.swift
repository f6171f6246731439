// Tests for .npy reading and writing: bytes written by numpy itself, round trips, and every kind of bad file.
import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct NPYTests {
    /// `np.save(f, np.arange(6, dtype='<f4').reshape(2, 3))` with numpy 2.4.
    static let numpyArange: [UInt8] = [
        0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
        0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
        0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
        0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
        0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40,
        0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0xa0, 0x40,
    ]

    /// `np.lib.format.write_array(f, np.array([1, -2, 3], dtype='<i8'), version=(2, 0))`: a 4-byte length.
    static let numpyVersion2: [UInt8] = [
        0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x02, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64, 0x65,
        0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x38, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
        0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61,
        0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33,
        0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    /// A version 1.0 .npy file with the given header dict and data, padded as numpy pads it.
    static func file(header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        let text = Array(header.utf8)
        let padded = text + [UInt8](repeating: 0x20, count: 63 - (10 + text.count) % 64) + [0x0A]
        return NPY.magic + [version, 0, UInt8(padded.count & 0xFF), UInt8(padded.count >> 8)] + padded + data
    }

    @Test func readsWhatNumpyWrites() throws {
        let tensor = try NPY.decode(Self.numpyArange, origin: "arange.npy")
        #expect(tensor.shape == [2, 3])
        #expect(tensor.elementType == .float32)
        #expect(tensor.doubles() == [0, 1, 2, 3, 4, 5])

        let version2 = try NPY.decode(Self.numpyVersion2, origin: "v2.npy")
        #expect(version2.shape == [3])
        #expect(version2.integers() == [1, -2, 3])
    }

    @Test func writesWhatNumpyWrites() throws {
        #expect(try NPY.encode(HostTensor(shape: [2, 3], float32: [0, 1, 2, 3, 4, 5])) == Self.numpyArange)
    }

    @Test(arguments: ElementType.allCases)
    func roundTripsEveryShape(type: ElementType) throws {
        for shape in [[], [1], [0], [2, 3, 4]] {
            let tensor = HostTensor(shape: shape, doubles: (0..<shape.reduce(1, *)).map { Double($0) - 7.25 }, as: type)
            let bytes = try NPY.encode(tensor)
            let headerEnd = 10 + Int(bytes[8]) + Int(bytes[9]) << 8
            #expect(bytes[6] == 1)
            #expect(headerEnd % 64 == 0 && bytes[headerEnd - 1] == 0x0A)
            #expect(try NPY.decode(bytes, origin: "mem.npy") == tensor)
        }
    }

    @Test func writesVersion2WhenTheHeaderIsHuge() throws {
        let tensor = HostTensor(shape: Array(repeating: 1, count: 22_000), float64: [2.5])
        let bytes = try NPY.encode(tensor)
        #expect(Array(bytes[6...7]) == [2, 0])
        let headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        #expect(headerLength > 65535 && (12 + headerLength) % 64 == 0)
        #expect(try NPY.decode(bytes, origin: "big.npy") == tensor)
    }

    @Test func parsesHeaderKeysInAnyOrder() throws {
        let header = #"{"shape": (), 'fortran_order': False, 'descr': '|u1'}"#
        let scalar = try NPY.decode(Self.file(header: header, data: [42]), origin: "x.npy")
        #expect(scalar.shape == [] && scalar.integers() == [42])
        let header2 = "{'descr':'<i4','shape':(2 ,) ,'fortran_order':False,}"
        let vector = try NPY.decode(Self.file(header: header2, data: [1, 0, 0, 0, 2, 0, 0, 0]), origin: "x.npy")
        #expect(vector.shape == [2] && vector.integers() == [1, 2])
    }

    @Test func writesAndReadsAFileAtomically() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nngen-npy-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/x.npy"
        let tensor = HostTensor(shape: [2, 2], int64: [1, -1, Int64.max, Int64.min])
        try NPY.write(tensor, to: path)
        #expect(try NPY.read(path: path) == tensor)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["x.npy"])

        let error = #expect(throws: Diagnostic.self) { try NPY.write(tensor, to: directory + "/missing/x.npy") }
        #expect(error?.location?.file == directory + "/missing/x.npy")
        #expect(error?.message.contains("cannot write") == true)
    }

    static let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"

    /// Bad files, each with the words its error message must contain.
    static let rejections: [(file: [UInt8], words: [String])] = [
        ([], ["file is empty"]),
        (Array("PK\u{03}\u{04}zip file".utf8), ["not a .npy file", "\\x50\\x4b\\x03\\x04", "magic \\x93NUMPY"]),
        (file(header: good, data: [UInt8](repeating: 0, count: 8), version: 3), ["version 3.0 is not supported"]),
        (
            file(
                header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                data: [UInt8](repeating: 0, count: 16)),
            ["Fortran"]
        ),
        (
            file(
                header: "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
                data: [UInt8](repeating: 0, count: 8)),
            ["big-endian", "'>f8'"]
        ),
        (
            file(header: "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", data: [0, 0]),
            ["descr '<f2'", "not supported", "<f4, <f8, <i4, <i8, |u1"]
        ),
        (file(header: good, data: [0, 0, 0, 0, 0, 0]), ["data is truncated", "needs 8 bytes", "but 6 follow"]),
        (file(header: good, data: [UInt8](repeating: 0, count: 12)), ["4 bytes after the data"]),
        (file(header: "{'descr': '<f4', 'fortran_order': False}"), ["invalid .npy header", "no 'shape'"]),
        (file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), ["unexpected key 'x'"]),
        (
            file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"),
            ["non-negative integer", "'-2'"]
        ),
        (file(header: "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }"), ["True or False", "'Maybe'"]),
        (file(header: "{'descr': '<f4' 'fortran_order': False}"), ["expected ',' or '}'", "found 'fortran_order'"]),
        (file(header: "[1, 2]"), ["expected '{'", "'['"]),
        (Array(file(header: good).prefix(40)), ["truncated", "header length is 118", "only 30 bytes"]),
    ]

    @Test func rejectsEveryTruncation() {
        for length in 0..<Self.numpyArange.count {
            #expect(throws: Diagnostic.self) { try NPY.decode(Array(Self.numpyArange.prefix(length)), origin: "cut") }
        }
    }

    @Test(arguments: rejections)
    func rejectsABadFile(file: [UInt8], words: [String]) {
        let error = #expect(throws: Diagnostic.self) { try NPY.decode(file, origin: "bad.npy") }
        #expect(error?.location?.file == "bad.npy")
        for word in words {
            #expect(error?.message.contains(word) == true, "\(error?.description ?? "no error") lacks '\(word)'")
        }
    }
}
