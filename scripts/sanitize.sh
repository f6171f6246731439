#!/usr/bin/env bash
# The equivalence suite with its generated kernels compiled by gcc under AddressSanitizer and
# UndefinedBehaviorSanitizer (the cc backend, NNGEN_TEST_BACKEND=cc): every kernel, forward and backward,
# against the float64 reference, PyTorch's fixtures and finite differences, with zero sanitizer reports.
# The Swift test process is not instrumented, so the sanitizer runtimes are preloaded for the dlopen'ed
# kernels (the same LD_PRELOAD runs ASan through `nngen ... --backend cc` with these NNGEN_CFLAGS).
# About 10 minutes on 2 cores; CI runs it (scripts/test.sh --sanitizers).
#   scripts/sanitize.sh [--skip-build]   (--skip-build: the tests are built already, as scripts/test.sh does)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--skip-build" ] || swift build --build-tests
log=$(mktemp)
cache=$(mktemp -d)
status=0
NNGEN_TEST_BACKEND=cc NNGEN_CACHE="$cache" \
  NNGEN_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -ffp-contract=off" \
  LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0 \
  swift test --skip-build --filter EquivalenceTests >"$log" 2>&1 || status=$?
rm -rf "$cache"
reports=$(grep -c -E "ERROR: AddressSanitizer|runtime error:" "$log" || true)
tail -3 "$log"
if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ]; then
  grep -E -A 20 "ERROR: AddressSanitizer|runtime error:|✘" "$log" | head -80
  echo "sanitize: the equivalence suite under ASan + UBSan failed (status $status, $reports sanitizer reports)"
  exit 1
fi
echo "sanitize: the equivalence suite under ASan + UBSan passed with no sanitizer report"
rm -f "$log"
