// EmbedTemplatesTool: writes the kernel templates as a Swift dictionary (file name → text); run by the
// EmbedTemplates build-tool plugin as `EmbedTemplatesTool OUTPUT TEMPLATE...`.

import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedTemplatesTool OUTPUT.swift TEMPLATE...\n".utf8))
    exit(2)
}
var swift = """
    // EmbeddedTemplates: the files of templates/, generated at build time by the EmbedTemplates plugin.

    enum EmbeddedTemplates {
        static let files: [String: String] = [

    """
for path in arguments.dropFirst() {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
        FileHandle.standardError.write(Data("EmbedTemplatesTool: cannot read \(path) as UTF-8\n".utf8))
        exit(1)
    }
    let name = URL(fileURLWithPath: path).lastPathComponent
    // A raw string with enough #s that no sequence in the text can close it.
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    swift += "        \"\(name)\": \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes),\n"
}
swift += "    ]\n}\n"
do {
    try swift.write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("EmbedTemplatesTool: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
