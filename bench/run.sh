#!/usr/bin/env bash
# Runs `nngen bench` on issue 5's workloads W1 and W2 and, when they are installed, the same networks in
# PyTorch eager (bench/pytorch_compare.py) and as one JAX jit step (bench/jax_compare.py), each framework
# in its own process, 1-thread runs pinned to one core with `taskset -c 0` (XLA takes every core
# otherwise), then prints nngen cc / the better peer for each workload and thread count, for the default
# (bit-identical to tcc) build and for the opt-in FMA mode (`--fma`). Then ROUNDS − 1 more rounds (default
# ROUNDS=3) of only nngen cc, PyTorch and JAX on each workload and thread count, one right after the other,
# so that each round's ratio compares runs a minute apart at most: the final table gives each rate's median
# over the rounds and the median and range of the per-round ratios (this VM's speed drifts by up to 1.5×
# within minutes, so one run of each framework does not settle a ratio). Not a test: figures depend on the
# machine.
#   [ROUNDS=3] bench/run.sh [extra nngen bench options, e.g. --repeats 7]
# Set NNGEN to an nngen binary to skip the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "bench/run.sh: ROUNDS must be 1 to 99, not '$rounds'" >&2; exit 2; }
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
cc_rate() {  # the cc backend's steps/s out of an nngen bench report
    sed -n 's/^steps\/s median: .*cc=\([0-9.]*\).*/\1/p'
}
rate() {  # the first "N steps/s" of a peer's line
    sed -n 's/.*: *\([0-9.][0-9.]*\) steps\/s.*/\1/p' | head -1
}
measured="$(mktemp)" # one line per workload, thread count and round: workload threads round nngen torch jax
fma_rates=()         # workload threads nngen-fma, first round
trap 'rm -f "$measured"' EXIT

# Runs the peers on `threads` threads, printing their lines; the last line is "torch-rate jax-rate" ("-"
# for a peer not installed or failed).
peers() {  # workload threads nngen-summary
    local launcher=() line torch_rate="" jax_rate=""
    [[ $2 == 1 ]] && launcher=("${pin[@]}")
    if [[ $have_torch == 1 ]]; then
        line="$("${launcher[@]}" python3 bench/pytorch_compare.py "$1" --threads "$2" --nngen "$3")" || true
        echo "$line"
        torch_rate="$(echo "$line" | rate)"
    fi
    if [[ $have_jax == 1 ]]; then
        line="$("${launcher[@]}" python3 bench/jax_compare.py "$1" --threads "$2" --nngen "$3" 2>&1 | grep -v '^WARNING')" || true
        echo "$line"
        jax_rate="$(echo "$line" | rate)"
    fi
    echo "${torch_rate:--} ${jax_rate:--}"
}

# Records one round's rates: prints the peers' lines, appends the numbers to $measured.
record() {  # workload threads round nngen-rate nngen-summary
    local output
    output="$(peers "$1" "$2" "$5")"
    echo "$output" | sed '$d'
    echo "$1 $2 $3 ${4:--} $(echo "$output" | tail -1)" >>"$measured"
}

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
    for threads in 1 2; do
        launcher=()
        [[ $threads == 1 ]] && launcher=("${pin[@]}")
        echo "=== $workload, $threads thread(s), FMA mode: nngen bench bench/$workload.spec --backend cc --threads $threads --fma $*"
        report="$("${launcher[@]}" "$NNGEN" bench "bench/$workload.spec" --backend cc --threads "$threads" --fma "$@" 2>&1)" || true
        echo "$report"
        fma_rates+=("$workload $threads $(echo "$report" | cc_rate)")
    done
    echo "--- time to the first training step (tcc, fresh process):"
    "$NNGEN" bench "bench/$workload.spec" --first-step --backend tcc || true
    both="$(echo "$report1" | summary 1),$(echo "$report2" | summary 2)"
    for threads in 1 2; do
        echo "--- PyTorch eager and JAX jit, $threads thread(s):"
        record "$workload" "$threads" 1 "$(echo "$both" | tr ',' '\n' | sed -n "s/^cc@$threads=//p")" "$both"
    done
    [[ $have_torch == 1 ]] || echo "(PyTorch not installed: pip install 'torch==2.13.0+cpu' for the side-by-side comparison)"
    [[ $have_jax == 1 ]] || echo "(JAX not installed: pip install jax==0.10.2 jaxlib==0.10.2 for the side-by-side comparison)"
    echo
done

for ((round = 2; round <= rounds; round++)); do
    for workload in w1 w2; do
        grep -q "^$workload " "$measured" || continue # skipped above
        for threads in 1 2; do
            launcher=()
            [[ $threads == 1 ]] && launcher=("${pin[@]}")
            echo "=== round $round of $rounds: $workload, $threads thread(s): nngen cc, PyTorch eager, JAX jit"
            report="$("${launcher[@]}" "$NNGEN" bench "bench/$workload.spec" --backend cc --threads "$threads" "$@" 2>&1)" || true
            echo "$report" | grep -E '^(cc |steps/s)' || echo "$report"
            nngen_cc="$(echo "$report" | cc_rate)"
            record "$workload" "$threads" "$round" "$nngen_cc" "cc@$threads=${nngen_cc:-0}"
        done
    done
done

echo
echo "training steps/s, medians over the rounds (1 thread pinned with taskset -c 0); nngen / better peer: the"
echo "median (and range) of each round's ratio; --fma: the first round's run, against that round's peers"
python3 - "$measured" "${fma_rates[@]}" <<'EOF'
import statistics
import sys

rows, fma = {}, {}
for line in open(sys.argv[1]):
    workload, threads, _, *rates = line.split()
    rows.setdefault((workload, threads), []).append([None if r == "-" else float(r) for r in rates])
for item in sys.argv[2:]:
    workload, threads, *rate = item.split()
    fma[(workload, threads)] = float(rate[0]) if rate and rate[0] != "-" else None


def median(values):
    values = [v for v in values if v]
    return statistics.median(values) if values else None


def cell(value):
    return f"{value:.1f}" if value else "-"


print("| workload | threads | nngen cc | PyTorch eager | JAX jit | nngen / better peer | rounds | nngen cc --fma | --fma / better peer |")
print("|---|---|---|---|---|---|---|---|---|")
for (workload, threads), measured in rows.items():
    nngen, torch, jax = (median([m[i] for m in measured]) for i in range(3))
    ratios = [m[0] / max(p for p in m[1:] if p) for m in measured if m[0] and any(m[1:])]
    ratio = f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f})" if ratios else "-"
    first_peer = max((p for p in measured[0][1:] if p), default=None)
    rate = fma.get((workload, threads))
    fma_ratio = f"{rate / first_peer:.2f}x" if rate and first_peer else "-"
    print(f"| {workload} | {threads} | {cell(nngen)} | {cell(torch)} | {cell(jax)} | {ratio} | {len(measured)} | {cell(rate)} | {fma_ratio} |")
EOF
