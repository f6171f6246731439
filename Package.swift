// swift-tools-version: 6.1
// nngen: a compiler from a static network spec to shape-specialized C kernels, with a libtcc JIT runtime.
import PackageDescription

let package = Package(
    name: "nngen",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "NNGen", targets: ["NNGen"]),
        .library(name: "NNRuntime", targets: ["NNRuntime"]),
        .library(name: "NNImport", targets: ["NNImport"]),
        .executable(name: "nngen", targets: ["NNGenCLI"]),
        .executable(name: "nngen-fuzz", targets: ["NNGenFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // libtcc (Debian: libtcc-dev, plus tcc for libtcc1.a and its headers at run time).
        .systemLibrary(name: "CTCC", path: "Sources/CTCC"),
        // zlib, for the gzip-compressed IDX files of Fashion-MNIST (Debian: zlib1g-dev).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The compiler: spec → shaped graph → plan → C source. Pure Swift, no C dependencies.
        // The kernel templates of templates/ are embedded at build time by the EmbedTemplates plugin.
        .target(name: "NNGen", path: "Sources/NNGen", plugins: ["EmbedTemplates"]),
        .executableTarget(name: "EmbedTemplatesTool", path: "Sources/EmbedTemplatesTool"),
        .plugin(name: "EmbedTemplates", capability: .buildTool(), dependencies: ["EmbedTemplatesTool"]),
        // The vector GEMM the runtime lends to the code libtcc compiles (the scalar path's sums, same bits).
        .target(name: "CNNGenHost", path: "Sources/CNNGenHost", exclude: ["gemm_kernel.inc", "gemm_entry.inc"]),
        // The runtime: compile C (libtcc), own model memory, tensor files, data sets, training.
        .target(name: "NNRuntime", dependencies: ["NNGen", "CTCC", "CZlib", "CNNGenHost"], path: "Sources/NNRuntime"),
        // ONNX import: onnx.pb.swift is generated once from proto/onnx.proto (scripts/regenerate-onnx.sh).
        .target(
            name: "NNImport", dependencies: ["NNGen", "NNRuntime", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Sources/NNImport"),
        // Presentation for the command line: the console progress bar, SVG loss curves, benchmark tables.
        .target(name: "NNGenReports", dependencies: ["NNGen", "NNRuntime"], path: "Sources/NNGenReports"),
        .executableTarget(
            name: "NNGenCLI",
            dependencies: [
                "NNGen", "NNRuntime", "NNGenReports", "NNImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/NNGenCLI"
        ),
        // The fuzzer of the spec front end and every file reader (scripts/fuzz.sh; a short run in CI).
        // Its top-level state is shared with a signal handler and a watchdog thread on purpose: Swift 5 mode.
        .executableTarget(
            name: "NNGenFuzz", dependencies: ["NNGen", "NNRuntime", "NNImport"], path: "Sources/NNGenFuzz",
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "NNGenTests", dependencies: ["NNGen"], path: "Tests/NNGenTests", exclude: ["BadSpecs", "WarningSpecs"]),
        .testTarget(
            name: "NNRuntimeTests", dependencies: ["NNGen", "NNRuntime", "NNGenReports", "CNNGenHost"], path: "Tests/NNRuntimeTests"),
        .testTarget(
            name: "ImportTests", dependencies: ["NNGen", "NNRuntime", "NNImport"], path: "Tests/ImportTests", exclude: ["Fixtures"]),
        .testTarget(
            name: "EquivalenceTests", dependencies: ["NNGen", "NNRuntime"], path: "Tests/EquivalenceTests", exclude: ["Fixtures"]),
    ]
)
