#!/usr/bin/python3
"""Export a PyTorch LeNet-5 (the zoo's exact architecture) to ONNX, with a
random input and PyTorch's output saved as TensorProto files, so that
`frugal run` can be checked against PyTorch (see check_lenet5.sh).

Run with Debian's interpreter: /usr/bin/python3 (python3-torch)."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

try:
    import onnx  # noqa: F401  (optional; not needed)
except ImportError:
    pass


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def tensor_proto(arr, name):
    """Serialise a float32 array as an ONNX TensorProto by hand (protobuf
    wire format), so the script needs no onnx Python package."""
    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    def key(field, wire):
        return varint(field << 3 | wire)

    msg = bytearray()
    for d in arr.shape:  # dims = 1
        msg += key(1, 0) + varint(int(d))
    msg += key(2, 0) + varint(1)  # data_type = FLOAT
    nb = name.encode()
    msg += key(8, 2) + varint(len(nb)) + nb  # name = 8
    raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
    msg += key(9, 2) + varint(len(raw)) + raw  # raw_data = 9
    return bytes(msg)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "lenet5-pytorch"
    os.makedirs(os.path.join(out, "test_data_set_0"), exist_ok=True)
    torch.manual_seed(0)
    model = LeNet5().eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(out, "model.onnx"), input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=13)
    with open(os.path.join(out, "test_data_set_0", "input_0.pb"), "wb") as f:
        f.write(tensor_proto(x.numpy(), "input"))
    with open(os.path.join(out, "test_data_set_0", "output_0.pb"), "wb") as f:
        f.write(tensor_proto(y.numpy(), "logits"))
    print("wrote", out)


if __name__ == "__main__":
    main()
