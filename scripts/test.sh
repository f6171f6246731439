#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test (equivalence, gradient checks,
# bad specs, file formats, generated-code freshness).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build
