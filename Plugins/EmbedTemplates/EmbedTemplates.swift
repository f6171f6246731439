// EmbedTemplates: a build-tool plugin that turns the files of templates/ into a Swift source of NNGen at
// build time, so the nngen binary carries its kernel templates and nothing generated is committed.

import Foundation
import PackagePlugin

@main
struct EmbedTemplates: BuildToolPlugin {
    /// One build command: EmbedTemplatesTool reads every file of templates/ and writes EmbeddedTemplates.swift.
    /// The files are listed on every build, so a new template is picked up without touching the package.
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "templates")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { ($0.hasSuffix(".c") || $0.hasSuffix(".h")) && !$0.hasPrefix(".") }
            .sorted()
        let inputs = names.map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedTemplates.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) kernel templates",
                executable: try context.tool(named: "EmbedTemplatesTool").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}
