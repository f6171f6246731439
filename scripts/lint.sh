#!/usr/bin/env bash
# Style checks, run by scripts/test.sh (and so by CI): swift-format (.swift-format) over the Swift sources,
# clang-format (.clang-format) over templates/. Fix with:
#   swift format format -i -r Sources Tests Plugins Package.swift && clang-format -i templates/*.c templates/*.h
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict -r Sources Tests Plugins Package.swift
clang-format --dry-run --Werror templates/*.c templates/*.h
echo "lint: swift-format and clang-format clean"
