#!/usr/bin/env python3
"""jax_compare.py — issue 5's W1 and W2 as one jax.jit training step, timed like `nngen bench`.

Same networks, batch shapes, training-mode batchnorm (batch statistics, biased variance, eps 1e-5, running
statistics updated with momentum 0.1 as PyTorch), loss (mean softmax cross-entropy) and optimizer (SGD
lr=0.05, momentum 0.9, PyTorch's form v = 0.9·v + g, p −= lr·v) as bench/w1.spec, bench/w2.spec and
bench/pytorch_compare.py, on one fixed random batch; the whole step (forward, backward, update) is one
jitted function with its state donated. Prints training steps/s (median and min–max over the repeats) and
the time from construction to the first finished step (compilation included).

XLA reads its thread settings once, at import: one process per thread count.

    python3 bench/jax_compare.py w1 --threads 1 [--repeats 5] [--nngen "cc@1=530"]

For 1 thread run it pinned to one core (taskset -c 0): XLA's CPU client takes every core otherwise.
Install: pip install jax==0.10.2 jaxlib==0.10.2
"""
import argparse
import os
import statistics
import sys
import time

from nngen_rates import nngen_rates, repeat_count, repeat_seconds, thread_count


def configure(threads):
    """XLA_FLAGS before jax is imported: Eigen's thread pool off for 1 thread."""
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()


def build(name, jax, jnp):
    key = jax.random.PRNGKey(0)

    def normal(shape, scale):
        nonlocal key
        key, sub = jax.random.split(key)
        return jax.random.normal(sub, shape, jnp.float32) * scale

    def batchnorm(x, gamma, beta, mean, var, axes):
        mu = x.mean(axis=axes, keepdims=True)
        sigma2 = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
        shape = [1] * x.ndim
        shape[1] = x.shape[1]
        y = (x - mu) / jnp.sqrt(sigma2 + 1e-5) * gamma.reshape(shape) + beta.reshape(shape)
        new_mean = 0.9 * mean + 0.1 * mu.reshape(-1)
        new_var = 0.9 * var + 0.1 * sigma2.reshape(-1)
        return y, (new_mean, new_var)

    if name == "w1":
        sizes = [784, 512, 256, 10]
        params = {}
        for i in range(3):
            params[f"w{i}"] = normal((sizes[i], sizes[i + 1]), (2.0 / sizes[i]) ** 0.5)
            params[f"b{i}"] = jnp.zeros(sizes[i + 1], jnp.float32)
        for i in range(2):
            params[f"g{i}"] = jnp.ones(sizes[i + 1], jnp.float32)
            params[f"beta{i}"] = jnp.zeros(sizes[i + 1], jnp.float32)
        stats = {f"m{i}": jnp.zeros(sizes[i + 1], jnp.float32) for i in range(2)}
        stats.update({f"v{i}": jnp.ones(sizes[i + 1], jnp.float32) for i in range(2)})
        shape = (128, 784)

        def forward(p, s, x):
            new = {}
            h = x
            for i in range(2):
                h = h @ p[f"w{i}"] + p[f"b{i}"]
                h, (new[f"m{i}"], new[f"v{i}"]) = batchnorm(h, p[f"g{i}"], p[f"beta{i}"], s[f"m{i}"], s[f"v{i}"], (0,))
                h = jax.nn.relu(h)
            return h @ p["w2"] + p["b2"], new
    else:
        channels = [1, 16, 32, 64]
        strides = [1, 2, 2]
        params, stats = {}, {}
        for i in range(3):
            params[f"w{i}"] = normal((channels[i + 1], channels[i], 3, 3), (2.0 / (9 * channels[i])) ** 0.5)
            params[f"b{i}"] = jnp.zeros(channels[i + 1], jnp.float32)
            params[f"g{i}"] = jnp.ones(channels[i + 1], jnp.float32)
            params[f"beta{i}"] = jnp.zeros(channels[i + 1], jnp.float32)
            stats[f"m{i}"] = jnp.zeros(channels[i + 1], jnp.float32)
            stats[f"v{i}"] = jnp.ones(channels[i + 1], jnp.float32)
        params["fw"] = normal((64 * 7 * 7, 10), (2.0 / (64 * 49)) ** 0.5)
        params["fb"] = jnp.zeros(10, jnp.float32)
        shape = (64, 1, 28, 28)

        def forward(p, s, x):
            new = {}
            h = x
            for i in range(3):
                h = jax.lax.conv_general_dilated(
                    h, p[f"w{i}"], (strides[i], strides[i]), ((1, 1), (1, 1)),
                    dimension_numbers=("NCHW", "OIHW", "NCHW")) + p[f"b{i}"].reshape(1, -1, 1, 1)
                h, (new[f"m{i}"], new[f"v{i}"]) = batchnorm(
                    h, p[f"g{i}"], p[f"beta{i}"], s[f"m{i}"], s[f"v{i}"], (0, 2, 3))
                h = jax.nn.relu(h)
            return h.reshape(h.shape[0], -1) @ p["fw"] + p["fb"], new

    def loss_fn(p, s, x, y):
        logits, new = forward(p, s, x)
        logp = jax.nn.log_softmax(logits)
        return -jnp.take_along_axis(logp, y[:, None], axis=1).mean(), new

    def step(p, v, s, x, y):
        (loss, new), g = jax.value_and_grad(loss_fn, has_aux=True)(p, s, x, y)
        v = jax.tree_util.tree_map(lambda vi, gi: 0.9 * vi + gi, v, g)
        p = jax.tree_util.tree_map(lambda pi, vi: pi - 0.05 * vi, p, v)
        return p, v, new, loss

    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
    x = normal(shape, 1.0)
    key, sub = jax.random.split(key)
    y = jax.random.randint(sub, (shape[0],), 0, 10)
    return jax.jit(step, donate_argnums=(0, 1, 2)), params, velocity, stats, x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=["w1", "w2"])
    parser.add_argument("--threads", type=thread_count, default=1,
                        help="threads, e.g. 1 (pin the process with taskset -c 0) or 2")
    parser.add_argument("--repeats", type=repeat_count, default=5)
    parser.add_argument("--repeat-seconds", type=repeat_seconds, default=0.5)
    parser.add_argument("--nngen", default={}, type=nngen_rates,
                        help="nngen's median steps/s per backend@threads, e.g. 'cc@1=530'")
    args = parser.parse_args()
    configure(args.threads)
    import jax
    import jax.numpy as jnp

    start = time.perf_counter()
    step, p, v, s, x, y = build(args.workload, jax, jnp)
    p, v, s, loss = step(p, v, s, x, y)
    loss.block_until_ready()
    first = time.perf_counter() - start
    fastest = first
    for _ in range(2):  # warm-up, as nngen bench
        t = time.perf_counter()
        p, v, s, loss = step(p, v, s, x, y)
        loss.block_until_ready()
        fastest = min(fastest, time.perf_counter() - t)
    steps = max(1, min(1000, int(args.repeat_seconds / max(fastest, 1e-9))))
    rates = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        for _ in range(steps):
            p, v, s, loss = step(p, v, s, x, y)
        loss.block_until_ready()
        rates.append(steps / (time.perf_counter() - t))
    median = statistics.median(rates)
    line = (f"JAX {jax.__version__} jit, {args.workload}, {args.threads} thread{'s' if args.threads > 1 else ' '}: "
            f"{median:8.1f} steps/s (min–max {min(rates):.1f}–{max(rates):.1f}, {steps} steps per repeat); "
            f"construction to first step {first * 1000:.0f} ms")
    same = {b: value for b, value in args.nngen.items() if b.endswith(f"@{args.threads}")}
    if same:
        line += "; nngen/JAX: " + ", ".join(f"{b} {value / median:.2f}×" for b, value in same.items())
    print(line)
    if not all(map(lambda r: r > 0, rates)):
        sys.exit(1)


if __name__ == "__main__":
    main()
