#!/usr/bin/env bash
# Fuzzes the spec front end and every file reader (safetensors, .npy, IDX/gzip, checkpoint metadata) with
# nngen-fuzz, from the seed corpus in Tests/FuzzCorpus: SECONDS per target (default 600; CI runs 15).
# A crash, a hang over 10 s or resident memory over 1 GiB fails the run and leaves the input in
# fuzz-failures/TARGET-KIND.bin; reproduce with: nngen-fuzz TARGET --corpus DIR-holding-that-file.
#   scripts/fuzz.sh [SECONDS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
seed=${2:-1}
swift build --product nngen-fuzz
# Its own checks first: a trap, a hang and an allocation above the bound must each be caught.
fuzz=.build/debug/nngen-fuzz
for check in "crash --timeout 10" "hang --timeout 1" "memory --timeout 60 --max-rss-mb 512"; do
  status=0
  # shellcheck disable=SC2086
  "$fuzz" selftest-$check --seconds 3 >/dev/null 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then echo "nngen-fuzz did not catch its ${check%% *} self-test"; exit 1; fi
done
rm -rf fuzz-failures
"$fuzz" all --seconds "$seconds" --seed "$seed"
