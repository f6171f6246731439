// FileBytes: read a whole file, with errors that name it and say why (missing, a directory, unreadable).

import Foundation
import NNGen

public enum FileBytes {
    /// The whole contents of the file at `path`.
    public static func read(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Diagnostic(file: path, "is a directory, expected a file")
        }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw Diagnostic(file: path, "cannot open for reading: \(systemError())")
        }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw Diagnostic(file: path, "cannot read: \(systemError())")
            }
            if got == 0 { return contents }
            contents.append(contentsOf: chunk[0..<got])
        }
    }

    /// The C library's description of `errno`.
    static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
