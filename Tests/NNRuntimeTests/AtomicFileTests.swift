// AtomicFile replaces a file by renaming a finished temporary over it. That must never turn something
// that is not a regular file into one: `nngen train --save /dev/null` run as root would otherwise replace
// the system's /dev/null. The tests use a FIFO (the same kind of node as a device for this rule), so a
// broken check could not damage the machine.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct AtomicFileTests {
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "nngen-atomic-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test func refusesToReplaceAFIFO() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: Diagnostic.self) { try AtomicFile.write([1, 2, 3], to: fifo) }
        #expect(throws: Diagnostic.self) { try AtomicFile.requireWritable(fifo) }
        do {
            try AtomicFile.write("text", to: fifo)
            Issue.record("a FIFO was written over")
        } catch let error as Diagnostic {
            #expect(error.description.contains("not a regular file"), "\(error)")
            #expect(error.description.contains(fifo), "\(error)")
        }
        #expect(Self.kind(fifo) == S_IFIFO, "the FIFO is still a FIFO")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(leftovers == ["pipe"], "no temporary left beside it: \(leftovers)")
    }

    @Test func writesThroughASymbolicLink() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/real", withIntermediateDirectories: true)
        try AtomicFile.write("old", to: folder + "/real/file.txt")
        #expect(symlink(folder + "/real/file.txt", folder + "/link.txt") == 0)
        try AtomicFile.requireWritable(folder + "/link.txt")
        try AtomicFile.write("new", to: folder + "/link.txt")
        #expect(Self.kind(folder + "/link.txt") == S_IFLNK, "the link is still a link")
        #expect(try String(contentsOfFile: folder + "/real/file.txt", encoding: .utf8) == "new")
    }

    @Test func replacesARegularFileAndCreatesANewOne() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try AtomicFile.write("one", to: folder + "/a.txt")
        try AtomicFile.write("two", to: folder + "/a.txt")
        #expect(try String(contentsOfFile: folder + "/a.txt", encoding: .utf8) == "two")
        #expect(Self.kind(folder + "/a.txt") == S_IFREG)
        #expect(throws: Diagnostic.self) { try AtomicFile.write("x", to: folder) }
    }
}
