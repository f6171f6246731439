#!/usr/bin/env bash
# Style checks, run by scripts/test.sh (and so by CI): swift-format (.swift-format) over the Swift sources,
# clang-format (.clang-format) over templates/ and the runtime's C (Sources/CNNGenHost). Fix with:
#   find Sources Tests Plugins -name '*.swift' ! -name '*.pb.swift' | xargs swift format format -i && clang-format -i templates/*.c templates/*.h Sources/CNNGenHost/*.c Sources/CNNGenHost/*.inc Sources/CNNGenHost/include/*.h
set -euo pipefail
cd "$(dirname "$0")/.."
# (generated protobuf code, Sources/NNImport/onnx.pb.swift, is left as protoc writes it)
find Sources Tests Plugins -name '*.swift' ! -name '*.pb.swift' -print0 | xargs -0 swift format lint --strict Package.swift
clang-format --dry-run --Werror templates/*.c templates/*.h Sources/CNNGenHost/*.c Sources/CNNGenHost/*.inc \
    Sources/CNNGenHost/include/*.h
echo "lint: swift-format and clang-format clean"
