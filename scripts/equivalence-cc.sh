#!/usr/bin/env bash
# The equivalence suite once more with its kernels built by the cc backend at its release flags
# (NNGEN_TEST_BACKEND=cc: gcc -O3 -march=native -ffp-contract=off, the GEMM path with this CPU's vectors),
# against the float64 reference, PyTorch's fixtures and finite differences. The default run compiles with
# libtcc (the scalar path); this one checks what users run, and the optimizer too: GCC 12.2's -O3 loop
# vectorizer once miscompiled conv's im2col (templates/conv.c). About 8 minutes on 2 cores; CI runs it
# (scripts/test.sh --sanitizers). NNGEN_CFLAGS="-O3 -march=x86-64-v3 -ffp-contract=off" checks the AVX2 path.
#   scripts/equivalence-cc.sh [--skip-build]   (--skip-build: the tests are built already)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--skip-build" ] || swift build --build-tests
cache=$(mktemp -d)
status=0
NNGEN_TEST_BACKEND=cc NNGEN_CACHE="$cache" swift test --skip-build --parallel --filter EquivalenceTests || status=$?
rm -rf "$cache"
if [ "$status" -ne 0 ]; then
  echo "equivalence-cc: the equivalence suite on the cc backend (${NNGEN_CFLAGS:-its release flags}) failed"
  exit 1
fi
echo "equivalence-cc: the equivalence suite on the cc backend (${NNGEN_CFLAGS:-its release flags}) passed"
