#!/usr/bin/env bash
# Regenerates Sources/NNImport/onnx.pb.swift from proto/onnx.proto (the official ONNX schema, copied from
# the onnx 1.23.2 Python package) with protoc (Debian protobuf-compiler) and swift-protobuf's
# protoc-gen-swift 1.39.0. Building the plugin takes a few minutes, so its output is committed: run this
# only when proto/onnx.proto changes.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/Sources/plugin"
cat >"$work/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "plugin",
    dependencies: [.package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0")],
    targets: [.executableTarget(name: "plugin", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")])]
)
SWIFT
echo 'print("")' >"$work/Sources/plugin/main.swift"
(cd "$work" && swift build -c release --product protoc-gen-swift)
protoc --plugin=protoc-gen-swift="$work/.build/release/protoc-gen-swift" --swift_opt=Visibility=Public \
  --swift_out=Sources/NNImport -I proto proto/onnx.proto
echo "wrote Sources/NNImport/onnx.pb.swift"
