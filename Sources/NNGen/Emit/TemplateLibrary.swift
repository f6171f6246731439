// TemplateLibrary: the C kernel templates, from the binary or from a templates/ folder on disk.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The kernel templates, one C file per layer kind plus the `nngen.h` prelude.
public struct TemplateLibrary: Sendable {
    var files: [String: String]
    /// Where the templates came from (`embedded` or a folder), for messages.
    public var origin: String

    /// The templates built into nngen (embedded from `templates/` at build time by the EmbedTemplates plugin).
    public static let embedded = TemplateLibrary(files: EmbeddedTemplates.files, origin: "embedded")

    /// The templates to use: the folder in `$NNGEN_TEMPLATES` when set (for editing templates without
    /// rebuilding nngen), the embedded ones otherwise.
    public static func current() throws -> TemplateLibrary {
        guard let pointer = getenv("NNGEN_TEMPLATES") else { return .embedded }
        return try load(directory: String(cString: pointer))
    }

    /// Reads every `*.c` and `*.h` file of a folder (a template added there is used without rebuilding).
    public static func load(directory: String) throws -> TemplateLibrary {
        guard let entries = listDirectory(directory) else {
            throw Diagnostic(
                file: directory, "cannot read the templates folder",
                hint: "NNGEN_TEMPLATES must name a copy of nngen's templates/ folder")
        }
        var files: [String: String] = [:]
        for name in entries where (name.hasSuffix(".c") || name.hasSuffix(".h")) && !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard let text = readTextFile(path) else {
                throw Diagnostic(file: path, "cannot read template", hint: "NNGEN_TEMPLATES must name a copy of nngen's templates/ folder")
            }
            files[name] = text
        }
        guard files["nngen.h"] != nil else {
            throw Diagnostic(
                file: directory, "the templates folder has no nngen.h",
                hint: "NNGEN_TEMPLATES must name a copy of nngen's templates/ folder")
        }
        return TemplateLibrary(files: files, origin: directory)
    }

    /// The text of `name` (e.g. `affine.c`).
    public func text(_ name: String) throws -> String {
        guard let text = files[name] else {
            throw Diagnostic(
                "no kernel template '\(name)' in \(origin)",
                hint: "add templates/\(name) and rebuild nngen (or set NNGEN_TEMPLATES=templates)")
        }
        return text
    }

    /// The names of all templates.
    public var names: [String] { files.keys.sorted() }
}

/// Reads a whole file as UTF-8, or nil.
func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count { break }
    }
    guard ferror(file) == 0 else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

/// The names in a folder, or nil when it cannot be read.
func listDirectory(_ path: String) -> [String]? {
    guard let directory = opendir(path) else { return nil }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
