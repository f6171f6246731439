#!/usr/bin/env python3
"""pytorch_compare.py — issue 5's W1 and W2 in PyTorch eager, timed like `nngen bench`, for a side-by-side ratio.

Same networks, batch shapes, loss (softmax cross-entropy) and optimizer (SGD lr=0.05, momentum 0.9) as
bench/w1.spec and bench/w2.spec, on one fixed random batch. Prints training steps/s (median and min–max
over the repeats) on 1 and 2 threads, and the time from model construction to the first finished step.

    python3 bench/pytorch_compare.py w1 [--repeats 5] [--nngen "tcc@1=1.5,cc@1=530,cc@2=924"]

With --nngen (what run.sh passes: nngen's median steps/s per backend@threads) it also prints nngen / PyTorch
for the same thread count.
Install: pip install 'torch==2.13.0+cpu'
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from nngen_rates import nngen_rates, repeat_count, repeat_seconds, thread_counts


def w1():
    """[128, 784] → affine 512 → bn → ReLU → affine 256 → bn → ReLU → affine 10."""
    model = nn.Sequential(
        nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(),
        nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(),
        nn.Linear(256, 10))
    return model, (128, 784)


def w2():
    """[64, 1, 28, 28] → conv 16 3×3 s1 p1 → bn → ReLU → conv 32 s2 → bn → ReLU → conv 64 s2 → bn → ReLU → affine 10."""
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=1, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))
    return model, (64, 1, 28, 28)


WORKLOADS = {"w1": w1, "w2": w2}


def measure(name, threads, repeats, repeat_seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    model, shape = WORKLOADS[name]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(*shape)
    y = torch.randint(0, 10, (shape[0],))
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    step()
    first = time.perf_counter() - start
    fastest = first
    for _ in range(2):  # warm-up, as nngen bench
        t = time.perf_counter()
        step()
        fastest = min(fastest, time.perf_counter() - t)
    steps = max(1, min(1000, int(repeat_seconds / max(fastest, 1e-9))))
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - t))
    return statistics.median(rates), min(rates), max(rates), steps, first


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--repeats", type=repeat_count, default=5)
    parser.add_argument("--repeat-seconds", type=repeat_seconds, default=0.5)
    parser.add_argument("--threads", default=[1, 2], type=thread_counts, help="comma-separated thread counts")
    parser.add_argument("--nngen", default={}, type=nngen_rates,
                        help="nngen's median steps/s per backend and thread count, e.g. 'tcc@1=1.5,cc@1=530,cc@2=924'")
    args = parser.parse_args()
    nngen = args.nngen
    print(f"PyTorch {torch.__version__} eager, {args.workload}, {args.repeats} repeats")
    for threads in args.threads:
        median, low, high, steps, first = measure(args.workload, threads, args.repeats, args.repeat_seconds)
        line = (f"  {threads} thread{'s' if threads > 1 else ' '}: {median:8.1f} steps/s (min–max {low:.1f}–{high:.1f}, "
                f"{steps} steps per repeat); construction to first step {first * 1000:.0f} ms")
        same = {b: v for b, v in nngen.items() if b.endswith(f"@{threads}") or "@" not in b}
        if same:
            line += "; nngen/PyTorch: " + ", ".join(f"{b} {v / median:.2f}×" for b, v in same.items())
        print(line)


if __name__ == "__main__":
    main()
