"""From PyTorch to nngen: a small CNN and a residual net for Fashion-MNIST, exported to ONNX.

    python3 examples/pytorch/export.py [OUT]        (default out/pytorch; torch 2.13 CPU, onnx 1.23)

writes OUT/cnn.onnx and OUT/resnet.onnx (float32, batch 64, training-mode export so batchnorm stays a
layer), and for the gradient check OUT/cnn64.onnx, a float64 copy with one batch (cnn64_x.npy,
cnn64_labels.npy) and PyTorch's loss, logits and gradients in nngen's names and layouts
(cnn64_torch.safetensors). The nngen commands that follow are in README.md ("From PyTorch").
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else "out/pytorch"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = None if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.skip is None else self.skip(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.layer3 = Block(32, 64, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(F.relu(self.bn(self.stem(x))))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def export(model, name, x):
    model.train()
    torch.onnx.export(model, (x,), os.path.join(OUT, name + ".onnx"), opset_version=17, dynamo=False,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      input_names=["x"], output_names=["logits"])
    print("wrote", os.path.join(OUT, name + ".onnx"))


def safetensors(path, tensors):
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


export(CNN(), "cnn", torch.randn(64, 1, 28, 28))
export(ResNet(), "resnet", torch.randn(64, 1, 28, 28))

# The gradient check: the CNN in float64, one batch, PyTorch's loss and gradients (train mode).
model = CNN().double()
x = torch.rand(8, 1, 28, 28, dtype=torch.float64)
export(model, "cnn64", x)
labels = torch.arange(8) % 10
x.requires_grad_(True)
logits = model(x)
loss = F.cross_entropy(logits, labels)
loss.backward()
out = {"loss": np.array([loss.item()]), "output": logits.detach().numpy(), "grad.input": x.grad.numpy()}
for module_name, module in model.named_modules():
    for parameter, value in module.named_parameters(recurse=False):
        grad = value.grad.numpy()
        if isinstance(module, nn.Linear) and parameter == "weight":
            grad = grad.T  # nngen's affine weight is [in, out]
        if isinstance(module, nn.BatchNorm2d):
            parameter = {"weight": "gamma", "bias": "beta"}[parameter]
        out[f"grad.{module_name}.{parameter}"] = grad
np.save(os.path.join(OUT, "cnn64_x.npy"), x.detach().numpy())
np.save(os.path.join(OUT, "cnn64_labels.npy"), labels.numpy())
safetensors(os.path.join(OUT, "cnn64_torch.safetensors"), out)
print("wrote", os.path.join(OUT, "cnn64_torch.safetensors"))
