#!/usr/bin/env bash
# Runs `nngen bench` on issue 5's workloads W1 and W2 and, when they are installed, the same networks in
# PyTorch eager (bench/pytorch_compare.py) and as one JAX jit step (bench/jax_compare.py), each framework
# in its own process, 1-thread runs pinned to one core with `taskset -c 0` (XLA takes every core
# otherwise), then prints nngen cc / the better peer for each workload and thread count, for the default
# (bit-identical to tcc) build and for the opt-in FMA mode (`--fma`). Not a test: figures depend on the
# machine.
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
have_jax=0
python3 -c 'import jax' 2>/dev/null && have_jax=1
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
lscpu | sed -n 's/^Model name: *//p; s/^CPU family: */family /p; s/^Model: */model /p' | paste -sd' '

summary() {  # "steps/s median: tcc=1.5, cc=23.6" → "tcc@T=1.5,cc@T=23.6"
    sed -n 's/^steps\/s median: //p' | tr -d ' ' | sed "s/=/@$1=/g"
}
rate() {  # the first "N steps/s" of a peer's line
    sed -n 's/.*: *\([0-9.][0-9.]*\) steps\/s.*/\1/p' | head -1
}
table=()

for workload in w1 w2; do
    echo "=== $workload, 1 thread: ${pin[*]} nngen bench bench/$workload.spec --backend tcc --backend cc --threads 1 $*"
    if ! report1="$("${pin[@]}" "$NNGEN" bench "bench/$workload.spec" --backend tcc --backend cc --threads 1 "$@" 2>&1)"; then
        echo "$report1"
        echo "($workload skipped: nngen bench failed)"
        continue
    fi
    echo "$report1"
    echo "=== $workload, 2 threads: nngen bench bench/$workload.spec --backend cc --threads 2 $*"
    report2="$("$NNGEN" bench "bench/$workload.spec" --backend cc --threads 2 "$@" 2>&1)" || true
    echo "$report2"
    fma=()
    for threads in 1 2; do
        launcher=()
        [[ $threads == 1 ]] && launcher=("${pin[@]}")
        echo "=== $workload, $threads thread(s), FMA mode: nngen bench bench/$workload.spec --backend cc --threads $threads --fma $*"
        report="$("${launcher[@]}" "$NNGEN" bench "bench/$workload.spec" --backend cc --threads "$threads" --fma "$@" 2>&1)" || true
        echo "$report"
        fma+=("$(echo "$report" | sed -n 's/^steps\/s median: .*cc=\([0-9.]*\).*/\1/p')")
    done
    echo "--- time to the first training step (tcc, fresh process):"
    "$NNGEN" bench "bench/$workload.spec" --first-step --backend tcc || true
    both="$(echo "$report1" | summary 1),$(echo "$report2" | summary 2)"
    for threads in 1 2; do
        launcher=()
        [[ $threads == 1 ]] && launcher=("${pin[@]}")
        nngen_cc="$(echo "$both" | tr ',' '\n' | sed -n "s/^cc@$threads=//p")"
        torch_rate="" jax_rate=""
        if [[ $have_torch == 1 ]]; then
            echo "--- PyTorch eager, $threads thread(s):"
            line="$("${launcher[@]}" python3 bench/pytorch_compare.py "$workload" --threads "$threads" --nngen "$both")" || true
            echo "$line"
            torch_rate="$(echo "$line" | rate)"
        fi
        if [[ $have_jax == 1 ]]; then
            echo "--- JAX jit, $threads thread(s):"
            line="$("${launcher[@]}" python3 bench/jax_compare.py "$workload" --threads "$threads" --nngen "$both" 2>&1 | grep -v '^WARNING')" || true
            echo "$line"
            jax_rate="$(echo "$line" | rate)"
        fi
        nngen_fma="${fma[$((threads - 1))]}"
        table+=("$(python3 - "$workload" "$threads" "$nngen_cc" "$torch_rate" "$jax_rate" "$nngen_fma" <<'EOF'
import sys
workload, threads, nngen, torch, jax, fma = sys.argv[1:]
def number(text):
    try:
        return float(text)
    except ValueError:
        return None
nngen, torch, jax, fma = map(number, (nngen, torch, jax, fma))
peers = [value for value in (torch, jax) if value]
ratio = lambda value: f"{value / max(peers):.2f}x" if value and peers else "-"
cell = lambda value: f"{value:.1f}" if value else "-"
print(f"| {workload} | {threads} | {cell(nngen)} | {cell(torch)} | {cell(jax)} | {ratio(nngen)} | {cell(fma)} | {ratio(fma)} |")
EOF
)")
    done
    [[ $have_torch == 1 ]] || echo "(PyTorch not installed: pip install 'torch==2.13.0+cpu' for the side-by-side comparison)"
    [[ $have_jax == 1 ]] || echo "(JAX not installed: pip install jax==0.10.2 jaxlib==0.10.2 for the side-by-side comparison)"
    echo
done

echo "training steps/s, medians (1 thread pinned with taskset -c 0):"
echo "| workload | threads | nngen cc | PyTorch eager | JAX jit | nngen / better peer | nngen cc --fma | --fma / better peer |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
