#!/usr/bin/python3
"""Export torchvision ResNet-18 and MobileNetV2 and a small BERT-style
encoder (random weights, Debian python3-torch/python3-torchvision) to ONNX,
each in a folder laid out like an ONNX backend test:
DIR/<name>/model.onnx, test_data_set_0/input_0.pb, output_0.pb.
Large files are generated, never committed. Usage: export_models.py DIR"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pytorch"))
from export_lenet5 import tensor_proto  # noqa: E402


def int64_proto(arr, name):
    """TensorProto for an int64 array (data_type 7, raw_data)."""
    import numpy as np
    b = bytearray(tensor_proto(np.zeros(arr.shape, dtype="float32"), name))
    # Rebuild simply: reuse the float writer's layout with int64 payload.
    def varint(v):
        out = bytearray()
        while True:
            c = v & 0x7F
            v >>= 7
            if v:
                out.append(c | 0x80)
            else:
                out.append(c)
                return bytes(out)
    msg = bytearray()
    for d in arr.shape:
        msg += varint(1 << 3) + varint(int(d))
    msg += varint(2 << 3) + varint(7)
    nb = name.encode()
    msg += varint(8 << 3 | 2) + varint(len(nb)) + nb
    raw = np.ascontiguousarray(arr, dtype="<i8").tobytes()
    msg += varint(9 << 3 | 2) + varint(len(raw)) + raw
    del b
    return bytes(msg)


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(1000, 128)
        layer = torch.nn.TransformerEncoderLayer(128, 4, 256, dropout=0.0, batch_first=True, activation="gelu")
        self.enc = torch.nn.TransformerEncoder(layer, 2)
        self.ln = torch.nn.LayerNorm(128)

    def forward(self, ids):
        return self.ln(self.enc(self.emb(ids)))


def save(root, name, model, x, opset=13):
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, (x,), os.path.join(d, "model.onnx"), opset_version=opset,
                      input_names=["input"], output_names=["output"])
    with open(os.path.join(d, "test_data_set_0", "input_0.pb"), "wb") as f:
        if x.dtype == torch.int64:
            f.write(int64_proto(x.numpy(), "input"))
        else:
            f.write(tensor_proto(x.numpy(), "input"))
    with open(os.path.join(d, "test_data_set_0", "output_0.pb"), "wb") as f:
        f.write(tensor_proto(y.numpy(), "output"))
    print("wrote", d)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "models"
    torch.manual_seed(0)
    save(root, "resnet18", torchvision.models.resnet18(), torch.randn(1, 3, 224, 224))
    save(root, "mobilenet_v2", torchvision.models.mobilenet_v2(), torch.randn(1, 3, 224, 224))
    save(root, "bert_small", Encoder(), torch.randint(0, 1000, (1, 32)), opset=14)


if __name__ == "__main__":
    main()
