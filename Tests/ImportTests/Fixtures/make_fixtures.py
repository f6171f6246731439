"""Writes the ONNX fixtures of Tests/ImportTests: small PyTorch models exported with torch.onnx.export
(the TorchScript exporter, opset 17, training mode so batchnorm stays unfused), each with one input batch
and PyTorch's eval-mode output. Run once (torch 2.13 CPU, onnx 1.23); the tests read the committed files
and need neither.

    python3 Tests/ImportTests/Fixtures/make_fixtures.py
"""
import os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 2 * 2, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.leaky_relu(self.bn2(self.conv2(x)), 0.1)
        return self.fc(torch.flatten(x, 1))


class Residual(nn.Module):
    """A skip connection, a concat, grouped conv, average and global pooling, sigmoid, tanh, GELU, dropout."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.a = nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        s = torch.tanh(self.stem(x))
        r = torch.sigmoid(self.bn(self.a(s))) + s
        k = torch.cat([r, x], dim=1)
        p = F.avg_pool2d(k, 2)
        g = torch.flatten(F.adaptive_avg_pool2d(p, 1), 1)
        h = self.drop(F.gelu(self.fc1(g)))
        return self.fc2(h)


def export(name, model, shape):
    # Nonzero running statistics, so that test mode is tested.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(*shape)
    model.train()
    torch.onnx.export(
        model, (x,), os.path.join(HERE, name + ".onnx"), opset_version=17, dynamo=False,
        training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
        input_names=["x"], output_names=["logits"])
    model.eval()
    with torch.no_grad():
        y = model(x)
    np.save(os.path.join(HERE, name + "_x.npy"), x.numpy())
    np.save(os.path.join(HERE, name + "_y.npy"), y.numpy())


export("mlp", MLP(), (4, 12))
export("cnn", CNN(), (3, 1, 8, 8))
export("residual", Residual(), (2, 2, 6, 6))


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc(torch.abs(x))


# An operator nngen does not map (Abs), and a dynamic batch dimension (needs --batch).
torch.onnx.export(Unsupported(), (torch.randn(2, 6),), os.path.join(HERE, "unsupported.onnx"), opset_version=17, dynamo=False,
                  input_names=["x"], output_names=["y"])
torch.onnx.export(MLP(), (torch.randn(4, 12),), os.path.join(HERE, "dynamic.onnx"), opset_version=17, dynamo=False,
                  input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def safetensors(path, tensors):
    """A safetensors file (float64) of {name: numpy array}, without the safetensors package."""
    import json
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def nngen_name(module_name, parameter, module):
    """PyTorch's parameter name → nngen's (batchnorm weight/bias are gamma/beta)."""
    if isinstance(module, nn.BatchNorm2d):
        parameter = {"weight": "gamma", "bias": "beta"}[parameter]
    return f"{module_name}.{parameter}"


def export_float64(name, model, shape, train):
    """A float64 export with one batch, its labels, and PyTorch's loss, logits and every gradient (in
    nngen's names and layouts), in `train` (batch statistics) or eval mode."""
    model = model.double()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(*shape, dtype=torch.float64)
    model.train()
    torch.onnx.export(
        model, (x,), os.path.join(HERE, name + ".onnx"), opset_version=17, dynamo=False,
        training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False, input_names=["x"], output_names=["logits"])
    model.train(train)
    x.requires_grad_(True)
    logits = model(x)
    labels = torch.arange(shape[0]) % logits.shape[1]
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out = {"loss": np.array([loss.item()]), "output": logits.detach().numpy(), "grad.input": x.grad.numpy()}
    for module_name, module in model.named_modules():
        for parameter, value in module.named_parameters(recurse=False):
            grad = value.grad.numpy()
            if isinstance(module, nn.Linear) and parameter == "weight":
                grad = grad.T  # nngen's affine weight is [in, out]
            out["grad." + nngen_name(module_name, parameter, module)] = grad
    np.save(os.path.join(HERE, name + "_x.npy"), x.detach().numpy())
    np.save(os.path.join(HERE, name + "_labels.npy"), labels.numpy().astype(np.int64))
    safetensors(os.path.join(HERE, name + "_grad.safetensors"), out)


class Concat(nn.Module):
    """Two branches concatenated, then a residual add."""

    def __init__(self):
        super().__init__()
        self.left = nn.Conv2d(2, 3, 3, padding=1)
        self.right = nn.Conv2d(2, 3, 1)
        self.mix = nn.Conv2d(6, 6, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 3 * 3, 4)

    def forward(self, x):
        k = torch.cat([F.relu(self.left(x)), torch.tanh(self.right(x))], dim=1)
        y = F.relu(self.bn(self.mix(k))) + k
        return self.fc(torch.flatten(F.max_pool2d(y, 2), 1))


export_float64("mlp64", MLP(), (4, 12), train=True)
export_float64("cnn64", CNN(), (3, 1, 8, 8), train=True)
export_float64("concat64", Concat(), (2, 2, 6, 6), train=True)
export_float64("residual64", Residual(), (2, 2, 6, 6), train=False)
