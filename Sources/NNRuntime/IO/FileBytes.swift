// FileBytes: read a whole file, with errors that name it and say why (missing, a directory, not a regular
// file, larger than the reader accepts, unreadable).

import Foundation
import NNGen

public enum FileBytes {
    /// The most a data file (.npy, IDX) may hold: half the machine's memory, at most 64 GiB.
    public static var dataLimit: Int {
        Int(min(ProcessInfo.processInfo.physicalMemory / 2, 1 << 36))
    }

    /// The whole contents of the regular file at `path`, at most `limit` bytes (`what` names the kind of
    /// file in the error). FIFOs, devices and sockets are refused before they are opened, so a read never
    /// blocks or runs forever.
    public static func read(_ path: String, limit: Int, what: String = "file") throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Diagnostic(file: path, "cannot open for reading: \(systemError())")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw Diagnostic(file: path, "is a directory, expected a file")
        case S_IFIFO:
            throw Diagnostic(file: path, "is a FIFO (named pipe), expected a regular file", hint: "write the data to a file first")
        case S_IFCHR, S_IFBLK: throw Diagnostic(file: path, "is a device, expected a regular file")
        default: throw Diagnostic(file: path, "is not a regular file")
        }
        let size = Int(info.st_size)
        guard size <= limit else { throw tooLarge(path, size, limit, what) }
        let descriptor = open(path, O_RDONLY | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw Diagnostic(file: path, "cannot open for reading: \(systemError())")
        }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        contents.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw Diagnostic(file: path, "cannot read: \(systemError())")
            }
            if got == 0 { return contents }
            // The file may grow while it is read: the limit holds for what is read, too.
            guard contents.count + got <= limit else { throw tooLarge(path, contents.count + got, limit, what) }
            contents.append(contentsOf: chunk[0..<got])
        }
    }

    static func tooLarge(_ path: String, _ size: Int, _ limit: Int, _ what: String) -> Diagnostic {
        Diagnostic(
            file: path, "is \(size) bytes, more than the \(limit) bytes a \(what) may have here",
            hint: "check that this is the right file")
    }

    /// The C library's description of `errno`.
    static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
