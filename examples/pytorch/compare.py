"""Compares `nngen grad`'s output with PyTorch's, tensor by tensor (norm-wise relative difference).

    python3 examples/pytorch/compare.py NNGEN.safetensors TORCH.safetensors
"""
import json
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    kinds = {"F64": "<f8", "F32": "<f4"}
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], kinds[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


ours, theirs = read(sys.argv[1]), read(sys.argv[2])
largest = max(np.abs(v).max() for k, v in theirs.items() if k.startswith("grad."))
worst = 0.0
for name in sorted(theirs):
    a, b = ours[name], theirs[name]
    floor = 1e-3 * largest if name.startswith("grad.") else 1e-12
    rel = np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), floor)
    worst = max(worst, rel)
    print(f"{name:24s} {str(list(b.shape)):18s} relative difference {rel:.2e}")
print(f"worst {worst:.2e}: " + ("match" if worst < 1e-7 else "DIFFER"))
sys.exit(0 if worst < 1e-7 else 1)
