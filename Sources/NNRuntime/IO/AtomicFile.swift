// AtomicFile: write a whole file so that readers see the old file or the new one, never half of one.

import Foundation
import NNGen

public enum AtomicFile {
    /// Writes `bytes` to a temporary file beside `path`, flushes it, then renames it over `path`.
    /// An existing `path` must be a regular file (renaming over `/dev/null` or a pipe would replace it
    /// with a file); a symbolic link is followed, so the file it names is replaced and the link stays.
    public static func write(_ bytes: [UInt8], to requested: String) throws {
        let path = try target(of: requested)
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Diagnostic(file: path, "cannot write: directory '\(directory)' does not exist")
        }
        removeStaleTemporaries(of: path)
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard let file = fopen(temporary, "wb") else {
            throw Diagnostic(file: path, "cannot write: \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written == bytes.count, flushed else {
            unlink(temporary)
            throw Diagnostic(file: path, "cannot write: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Diagnostic(file: path, "cannot write: \(reason)")
        }
    }

    /// The file a write of `path` replaces: `path` itself, or the file its symbolic link names. Throws
    /// when that exists and is not a regular file (a device such as /dev/null, a pipe, a socket).
    static func target(of path: String) throws -> String {
        var info = stat()
        guard lstat(path, &info) == 0 else { return path }  // nothing there yet: a new file
        var resolved = path
        if info.st_mode & S_IFMT == S_IFLNK {
            guard let real = realpath(path, nil) else { return path }  // a dangling link: rename replaces it
            resolved = String(cString: real)
            free(real)
            guard stat(resolved, &info) == 0 else { return path }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return resolved
        case S_IFDIR: throw Diagnostic(file: path, "is a folder; expected a file name to write")
        default:
            throw Diagnostic(
                file: path, "cannot write: not a regular file (a device, pipe or socket)",
                hint: "nngen writes a file beside it and renames it into place, which would replace it; name a regular file")
        }
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Throws now, before any work, when `path` cannot be written later: its folder is missing or not
    /// writable (a probe file is created and removed, so read-only mounts and immutable folders are
    /// caught too), or `path` is a folder.
    public static func requireWritable(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Diagnostic(
                file: path, "cannot write here: folder '\(folder)' does not exist", hint: "create it first: mkdir -p \(folder)")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Diagnostic(file: path, "is a folder; expected a file name to write", hint: "name a file, e.g. \(path)/out.safetensors")
        }
        _ = try target(of: path)
        let probe = folder + "/.nngen-probe-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw Diagnostic(file: path, "cannot write in folder '\(folder)': \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        unlink(probe)
    }

    /// Removes temporary files a killed writer left beside `path` (`.NAME.tmp-PID-N` whose process is gone).
    public static func removeStaleTemporaries(of path: String) {
        let url = URL(fileURLWithPath: path)
        let prefix = "." + url.lastPathComponent + ".tmp-"
        removeStaleTemporaries(inFolder: url.deletingLastPathComponent().path) { $0.hasPrefix(prefix) }
    }

    /// Removes the files of `folder` that `accepts` and whose name carries `.tmp-PID` (the last such
    /// marker) of a process that no longer runs: what killed writers and builds leave behind.
    public static func removeStaleTemporaries(inFolder folder: String, where accepts: (String) -> Bool) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where accepts(name) {
            guard let marker = name.range(of: ".tmp-", options: .backwards) else { continue }
            let pid = name[marker.upperBound...].prefix { $0.isNumber }
            guard let process = Int32(pid), process != getpid(), !processIsAlive(process) else { continue }
            unlink(folder + "/" + name)
        }
    }

    /// Whether a process with this id exists (it may belong to another user).
    public static func processIsAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// Creates a directory and its parents, with a clear error.
    /// The message names the folder that could not be made and the system's reason (`Not a directory`).
    public static func createDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw Diagnostic(file: path, "cannot create directory: '\(prefix)' exists and is not a directory")
                }
                continue
            }
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw Diagnostic(file: path, "cannot create directory '\(prefix)': \(String(cString: strerror(errno)))")
            }
        }
    }
}
