#!/bin/sh
# bench/kernels/run.sh — kernel micro-benchmark: generates a model's C with nngen, compiles it with the
# system compiler together with driver.c, and prints per-layer GFLOP/s and training steps/s for each
# thread count.
#
#   bench/kernels/run.sh [SPEC]          default: bench/w1.spec, else examples/fashion_mlp.spec (W1)
#
# Environment: NNGEN (the nngen binary; default: built with `swift build -c release`), CC (default cc),
# CFLAGS (default: the cc backend's -O3 -march=native -ffp-contract=off), THREADS (default "1 2"),
# STEPS and REPEATS (training steps per timed run, runs), MODEL_DIR (use this folder's generated
# <model>.c/.h instead of running nngen, e.g. generated/fashion_mlp), OUT (work folder), BENCH_CLOCK=cpu
# (time with process CPU time instead of wall time: for 1 thread on a machine shared with other work).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/bench/kernels"
spec=${1:-$root/bench/w1.spec}
[ -f "$spec" ] || spec=$root/examples/fashion_mlp.spec
out=${OUT:-${TMPDIR:-/tmp}/nngen-kernel-bench}
cc=${CC:-cc}
# (as the cc backend's -march=native builds: the L1 data cache size, which sizes the GEMMs' depth blocks)
l1d=$(getconf LEVEL1_DCACHE_SIZE 2>/dev/null || echo 0)
[ "${l1d:-0}" -gt 0 ] 2>/dev/null && l1_define="-DNNGEN_L1D_BYTES=$l1d" || l1_define=""
cflags=${CFLAGS:--O3 -march=native -ffp-contract=off $l1_define}
mkdir -p "$out"

if [ -n "${MODEL_DIR:-}" ]; then
    model_dir=$MODEL_DIR
else
    nngen=${NNGEN:-}
    if [ -z "$nngen" ]; then
        (cd "$root" && swift build -c release --product nngen >/dev/null)
        nngen=$root/.build/release/nngen
    fi
    rm -rf "$out/model"
    "$nngen" compile "$spec" -o "$out/model" >/dev/null
    model_dir=$out/model
fi
header=$(ls "$model_dir"/*.h | head -n 1)
model=$(basename "$header" .h)

awk -v model="$model" -f "$here/layers.awk" "$header" >"$out/layers.h"
# shellcheck disable=SC2086  # cflags is a list of words
$cc $cflags -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -I"$out" -I"$model_dir" -DMODEL="$model" -include "$header" \
    "$here/driver.c" "$model_dir/$model.c" -o "$out/bench" -lpthread -lm

echo "$model from ${MODEL_DIR:-$spec}; $($cc --version | head -n 1); $cflags"
grep -m 1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: /cpu: /' || true
for threads in ${THREADS:-1 2}; do
    "$out/bench" "$threads" "${STEPS:-200}" "${REPEATS:-7}"
done
