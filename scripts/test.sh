#!/usr/bin/env bash
# The test command: installs what is missing, checks style (scripts/lint.sh), builds, and runs every test
# (equivalence, gradient checks, bad specs, file formats, generated-code freshness).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/lint.sh
swift build --build-tests
swift test --skip-build
