#!/usr/bin/env python3
"""PyTorch fixtures for PyTorchFixtureTests: for each case, a spec and the same network in PyTorch; random
parameters, an input batch and labels; PyTorch's loss, output, input gradient and parameter gradients (float64,
train mode). Written once and committed, so the tests need no PyTorch:

    python3 Tests/EquivalenceTests/Fixtures/pytorch/make_fixtures.py      # torch==2.13.0+cpu

Each case writes CASE.spec, CASE.params.safetensors (nngen's names and layouts), CASE.x.npy, CASE.y.npy and
CASE.expected.safetensors (keys as `nngen grad` writes them: loss, output, grad.input, grad.NAME)."""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)


def write_safetensors(path, tensors):
    """The safetensors format: an 8-byte little-endian header length, a JSON header, the raw data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype=np.float64).tobytes()
        header[name] = {"dtype": "F64", "shape": list(np.shape(tensors[name])), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class Case:
    """A spec, the PyTorch module computing the same function, and how nngen's tensors map onto its own."""

    def __init__(self, name, spec, module, mapping, input_shape, classes):
        self.name, self.spec, self.module, self.mapping = name, spec, module, mapping
        self.input_shape, self.classes = input_shape, classes


def conv(name, m):
    out = {f"{name}.weight": (m.weight, lambda t: t)}
    if m.bias is not None:
        out[f"{name}.bias"] = (m.bias, lambda t: t)
    return out


def linear(name, m):
    out = {f"{name}.weight": (m.weight, lambda t: t.T)}  # nngen stores [D, M]
    if m.bias is not None:
        out[f"{name}.bias"] = (m.bias, lambda t: t)
    return out


def bn(name, m):
    return {f"{name}.gamma": (m.weight, lambda t: t), f"{name}.beta": (m.bias, lambda t: t)}


def buffers(name, m):
    return {f"{name}.running_mean": m.running_mean, f"{name}.running_var": m.running_var}


# 1. A residual network: stem, an identity block, a projection block (stride 2), global pooling.
class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.stem_bn = nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.a1, self.a1_bn = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.a2, self.a2_bn = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.b1, self.b1_bn = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(6)
        self.b2, self.b2_bn = nn.Conv2d(6, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6)
        self.proj, self.proj_bn = nn.Conv2d(4, 6, 1, stride=2, bias=False), nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        s = F.relu(self.stem_bn(self.stem(x)))
        a = F.relu(self.a2_bn(self.a2(F.relu(self.a1_bn(self.a1(s))))) + s)
        b = self.b2_bn(self.b2(F.relu(self.b1_bn(self.b1(a)))))
        b = F.relu(b + self.proj_bn(self.proj(a)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(b, 1), 1))


RESIDUAL_SPEC = """input x [3, 2, 7, 7]
dtype float64
conv stem filters=4 size=3 pad=1 bias=false
batchnorm stem_bn
relu stem_r
conv a1 filters=4 size=3 pad=1 bias=false
batchnorm a1_bn
relu a1_r
conv a2 filters=4 size=3 pad=1 bias=false
batchnorm a2_bn
add a from=a2_bn,stem_r
relu a_r
conv b1 filters=6 size=3 stride=2 pad=1 bias=false
batchnorm b1_bn
relu b1_r
conv b2 filters=6 size=3 pad=1 bias=false
batchnorm b2_bn
conv proj filters=6 size=1 stride=2 bias=false from=a_r
batchnorm proj_bn
add b from=b2_bn,proj_bn
relu b_r
globalavgpool pool
affine fc out=3
loss softmax
"""


# 2. PyTorch's output-size rules: an unpadded stride-2 conv (floor), maxpool with padding and ceil mode,
#    avgpool without counting padding, a dilated grouped conv, leaky ReLU and GELU, a linear without bias.
class Rules(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, stride=2)
        self.c2 = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)
        self.fc = nn.Linear(4 * 2 * 2, 3, bias=False)

    def forward(self, x):
        h = F.leaky_relu(self.c1(x), 0.1)  # 12 → 5
        h = F.max_pool2d(h, 3, stride=2, padding=1, ceil_mode=True)  # 5 → 3
        h = F.gelu(self.c2(h))  # 3 → 3
        h = F.avg_pool2d(h, 2, stride=1, padding=1, count_include_pad=False, ceil_mode=False)  # 3 → 4
        h = F.avg_pool2d(h, 3, stride=2, ceil_mode=True)  # 4 → 2: the last window clipped, divisor 2·2
        return self.fc(torch.flatten(h, 1))


RULES_SPEC = """input x [2, 1, 12, 12]
dtype float64
conv c1 filters=4 size=3 stride=2
leakyrelu l1 slope=0.1
maxpool p1 size=3 stride=2 pad=1 ceil=true
conv c2 filters=4 size=3 pad=2 dilation=2 groups=2
gelu g1
avgpool p2 size=2 stride=1 pad=1 count_pad=false
avgpool p3 size=3 stride=2 ceil=true
affine fc out=3 bias=false
loss softmax
"""


# 3. Concatenation along channels and features, a tensor read three times, a three-way add.
class Merge(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 3, 3, padding=1)
        self.c2 = nn.Conv2d(5, 2, 1)
        self.fa = nn.Linear(2 * 4 * 4, 5)
        self.fb = nn.Linear(2 * 4 * 4, 5)
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        j = torch.cat([x, torch.tanh(self.c1(x))], 1)
        c = self.c2(j)
        flat = torch.flatten(c, 1)
        a, b = self.fa(flat), self.fb(flat)
        s = torch.sigmoid(a) + a + F.relu(a)
        return self.fc(torch.cat([s, b], 1))


MERGE_SPEC = """input x [3, 2, 4, 4]
dtype float64
conv c1 filters=3 size=3 pad=1
tanh t1
concat j from=x,t1
conv c2 filters=2 size=1
affine fa out=5
affine fb out=5 from=c2
sigmoid s1 from=fa
add s from=s1,fa,r1a
concat k from=s,fb
affine fc out=3
loss softmax
"""
MERGE_SPEC = MERGE_SPEC.replace("sigmoid s1 from=fa\n", "sigmoid s1 from=fa\nrelu r1a from=fa\n")


def main():
    residual = Residual()
    rules = Rules()
    merge = Merge()
    bns = ["stem_bn", "a1_bn", "a2_bn", "b1_bn", "b2_bn", "proj_bn"]
    cases = [
        Case("residual", RESIDUAL_SPEC, residual,
             {**conv("stem", residual.stem), **conv("a1", residual.a1), **conv("a2", residual.a2),
              **conv("b1", residual.b1), **conv("b2", residual.b2), **conv("proj", residual.proj),
              **{k: v for n in bns for k, v in bn(n, getattr(residual, n)).items()}, **linear("fc", residual.fc)},
             [3, 2, 7, 7], 3),
        Case("rules", RULES_SPEC, rules, {**conv("c1", rules.c1), **conv("c2", rules.c2), **linear("fc", rules.fc)},
             [2, 1, 12, 12], 3),
        Case("merge", MERGE_SPEC, merge,
             {**conv("c1", merge.c1), **conv("c2", merge.c2), **linear("fa", merge.fa), **linear("fb", merge.fb),
              **linear("fc", merge.fc)}, [3, 2, 4, 4], 3),
    ]
    for case in cases:
        module = case.module.double().train()
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.randn_like(p) * 0.5)
        x = torch.randn(case.input_shape, dtype=torch.float64, requires_grad=True)
        y = torch.randint(0, case.classes, (case.input_shape[0],), dtype=torch.int64)
        params = {name: conv_to(t).detach().numpy() for name, (t, conv_to) in case.mapping.items()}
        for name, m in module.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                params.update({k: v.detach().numpy() for k, v in buffers(name, m).items()})
        output = module(x)
        loss = F.cross_entropy(output, y)
        loss.backward()
        expected = {"loss": np.array([loss.item()]), "output": output.detach().numpy(), "grad.input": x.grad.numpy()}
        expected.update({f"grad.{name}": conv_to(t.grad).numpy() for name, (t, conv_to) in case.mapping.items()})
        base = os.path.join(HERE, case.name)
        with open(base + ".spec", "w") as f:
            f.write(f"# {case.name}: written by make_fixtures.py with torch {torch.__version__}; the same network as its PyTorch module\n")
            f.write(f"model {case.name}\n" + case.spec)
        write_safetensors(base + ".params.safetensors", params)
        np.save(base + ".x.npy", x.detach().numpy())
        np.save(base + ".y.npy", y.numpy().astype(np.int64))
        write_safetensors(base + ".expected.safetensors", expected)
        print(f"{case.name}: loss {loss.item():.6f}, {len(params)} tensors, output {list(output.shape)}")


if __name__ == "__main__":
    main()
