#!/usr/bin/env bash
# The main job: installs what is missing, builds nngen in release mode, trains examples/fashion_mlp.spec on
# Fashion-MNIST for 5 epochs (progress bar, test accuracy after every epoch), then evaluates the result.
# Writes out/fashion_mlp.safetensors (checkpoint), out/fashion_mlp.csv (metrics), out/fashion_mlp.svg (curves).
# Extra arguments go to `nngen train`, e.g. scripts/main.sh --backend tcc --seed 1
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null; then
  echo "error: swift not found; install Swift 6.1 or newer (https://swift.org/install), then rerun $0" >&2
  exit 1
fi
scripts/setup.sh
build=${NNGEN_SCRATCH:-.build}
swift build -c release --product nngen --scratch-path "$build"
nngen="$build/release/nngen"
mkdir -p out
rm -f out/fashion_mlp.csv  # metrics are appended: start this run's file afresh
"$nngen" train examples/fashion_mlp.spec --epochs 5 --seed 0 \
  --save out/fashion_mlp.safetensors --metrics out/fashion_mlp.csv --plot out/fashion_mlp.svg "$@"
"$nngen" eval examples/fashion_mlp.spec --params out/fashion_mlp.safetensors
