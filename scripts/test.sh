#!/usr/bin/env bash
# The test command: installs what is missing, checks style (scripts/lint.sh), builds, runs every test
# (equivalence, gradient checks, bad specs, file formats, generated-code freshness, hostile input), then
# the short fuzz run (scripts/fuzz.sh 15) and, with --sanitizers (what CI runs), the equivalence suite twice
# more: with its kernels built by cc at the release flags (-O3 -march=native), and under ASan and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/lint.sh
swift build --build-tests
swift test --skip-build
scripts/fuzz.sh 15
if [ "${1:-}" = "--sanitizers" ]; then
  scripts/equivalence-cc.sh --skip-build
  scripts/sanitize.sh --skip-build  # the test bundle built above (fuzz.sh builds only its own product)
fi
