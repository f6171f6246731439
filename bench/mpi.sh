#!/usr/bin/env bash
# Data-parallel training on one machine: W1 and W2 trained on Fashion-MNIST for 2 epochs (the first
# includes the cc build), 1 process × 2 threads against `mpirun -np 2` × 1 thread each, the allreduce time
# per step, over Open MPI's default transports and over TCP alone. Reported, not a target: one 2-core
# machine cannot show scaling (2 ranks there train a global batch twice the spec's).
#   bench/mpi.sh [epochs]         Set NNGEN to an nngen binary to skip the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-2}"
if [[ -z "${NNGEN:-}" ]]; then
    swift build -c release --product nngen >&2
    NNGEN="$(swift build -c release --show-bin-path)/nngen"
fi
command -v mpirun >/dev/null || { echo "mpirun not found: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
[[ "$(id -u)" -eq 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
lscpu | sed -n 's/^Model name: *//p; s/^CPU family: */family /p; s/^Model: */model /p' | paste -sd' '

report() {  # the last epoch's line and the allreduce line of a run's output (mpirun gives rank 0 a pty: drop the bar)
    tr '\r' '\n' | sed 's/\x1b\[2K//g' | grep -E "^epoch $epochs |^allreduce" | sed 's/^/    /'
}

for workload in w1 w2; do
    spec="bench/$workload.spec"
    echo "=== $workload: $epochs epochs"
    echo "  1 process x 2 threads, batch as in the spec:"
    "$NNGEN" train "$spec" --epochs "$epochs" --threads 2 --backend cc 2>&1 | report
    echo "  2 processes x 1 thread (mpirun -np 2, default transports), global batch 2 x the spec's:"
    mpirun --oversubscribe -np 2 "$NNGEN" train "$spec" --epochs "$epochs" --threads 1 --backend cc 2>&1 | report
    echo "  2 processes x 1 thread over TCP (--mca btl tcp,self):"
    mpirun --oversubscribe -np 2 --mca btl tcp,self "$NNGEN" train "$spec" --epochs "$epochs" --threads 1 --backend cc 2>&1 | report
done
