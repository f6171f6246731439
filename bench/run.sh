#!/usr/bin/env bash
# Runs `nngen bench` on issue 5's workloads W1 and W2 and, when `import torch` works, the same networks in
# PyTorch eager (bench/pytorch_compare.py) for a side-by-side ratio. Not a test: figures depend on the machine.
#   bench/run.sh [extra nngen bench options, e.g. --repeats 7]
# Set NNGEN to an nngen binary to skip the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${NNGEN:-}" ]]; then
    swift build -c release --product nngen >&2
    NNGEN="$(swift build -c release --show-bin-path)/nngen"
fi
have_torch=0
python3 -c 'import torch' 2>/dev/null && have_torch=1

summary() {  # "steps/s median: tcc=1.5, cc=23.6" → "tcc@T=1.5,cc@T=23.6"
    sed -n 's/^steps\/s median: //p' | tr -d ' ' | sed "s/=/@$1=/g"
}

for workload in w1 w2; do
    echo "=== $workload, 1 thread: nngen bench bench/$workload.spec --backend tcc --backend cc --threads 1 $*"
    if ! report1="$("$NNGEN" bench "bench/$workload.spec" --backend tcc --backend cc --threads 1 "$@" 2>&1)"; then
        echo "$report1"
        echo "($workload skipped: nngen bench failed)"
        continue
    fi
    echo "$report1"
    echo "=== $workload, 2 threads: nngen bench bench/$workload.spec --backend cc --threads 2 $*"
    report2="$("$NNGEN" bench "bench/$workload.spec" --backend cc --threads 2 "$@" 2>&1)" || true
    echo "$report2"
    echo "--- time to the first training step (tcc, fresh process):"
    "$NNGEN" bench "bench/$workload.spec" --first-step --backend tcc || true
    if [[ $have_torch == 1 ]]; then
        both="$(echo "$report1" | summary 1),$(echo "$report2" | summary 2)"
        echo "--- the same network in PyTorch eager:"
        python3 bench/pytorch_compare.py "$workload" --nngen "$both"
    else
        echo "(PyTorch not installed: pip install 'torch==2.13.0+cpu' for the side-by-side comparison)"
    fi
    echo
done
