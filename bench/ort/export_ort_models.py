#!/usr/bin/python3
"""Models and inputs for bench/ort/compare.sh (Debian python3-torch and
python3-torchvision, no onnx package, no downloads).

Writes into DIR:
  resnet18/model.onnx, mobilenet_v2/model.onnx  torchvision architectures, exported by
      bench/models/export_models.py's save() (opset 13, static batch 1), with weights made
      "pretrained-like" (see below);
  conv3x3/model.onnx        one Conv: 64->64 channels, 3x3, pad 1, bias, 1x64x56x56 (issue 3);
  calib/train-{images-idx3,labels-idx1}-ubyte   synthetic uint8 RGB images (IDX, N x H x W x 3)
      for `frugal quantize --data DIR/calib --mean ... --std ...`;
  eval_inputs.npy           float32 [N,3,224,224]: other synthetic images, already normalised
      with the ImageNet mean/std, one model input per row;
  <model>/torch_eval.npy    PyTorch's fp32 logits on eval_inputs.npy.

Why not plain random weights: torchvision's random initialisation gives logits that do not
depend on the input (ResNet-18 picks the same class for every input; MobileNetV2's logits are
~1e-9), so top-1 agreement would be meaningless. Three changes make the networks behave like
trained ones as far as quantization is concerned, without any data set:
  1. BatchNorm statistics are re-estimated on synthetic images (train-mode passes with
     cumulative averaging), so every BN output is standardised over the input distribution
     as in a trained network, and activations keep a healthy range through the depth;
  2. the classifier is centred and scaled: bias = -W.mean(features) and W scaled so that the
     logits' spread over inputs is LOGIT_STD, so the predicted class depends on the input;
  3. depthwise 3x3 filters (MobileNetV2) get a positive mean (1/9 + N(0, 1/9)), as trained
     depthwise filters mostly are low-pass or centre-weighted. Zero-mean random depthwise
     filters nearly cancel spatially smooth features, BN re-estimation then scales what is
     left (mostly int8 rounding noise) back up, and int8 error grows ~2 dB per block: the
     int8 model's logits came out at ~3 dB SQNR against fp32, i.e. unrelated to them.
Even so these networks are more sensitive to small perturbations than trained ones (1000
classes with small top-1 margins): compare.sh therefore also measures each engine against
its own unfused int8 reference, as a control.
Synthetic images: 1/f^a amplitude-spectrum noise per channel (a random in [0.75,1.25]; natural
images have a power spectrum near 1/f^2), mixed by a random colour matrix, with a random
brightness/contrast, quantized to uint8. Usage:
export_ort_models.py DIR [N_EVAL] [N_CALIB]"""
import os
import struct
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "models"))
from export_models import save  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
LOGIT_STD = 3.0


def images(n, seed, size=224):
    """n synthetic RGB uint8 images, N x H x W x 3."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0 / size
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        a = rng.uniform(0.75, 1.25)
        spec = (rng.standard_normal((3,) + f.shape) + 1j * rng.standard_normal((3,) + f.shape)) / f ** a
        spec[:, 0, 0] = 0
        ch = np.fft.irfft2(spec, s=(size, size))
        ch /= ch.std(axis=(1, 2), keepdims=True) + 1e-12
        mix = np.eye(3) * rng.uniform(0.2, 1.0) + rng.uniform(0.0, 1.0, (3, 3)) * rng.uniform(0.2, 1.0)
        img = np.tensordot(mix, ch, axes=1)
        img /= img.std() + 1e-12
        img = img * rng.uniform(0.08, 0.3) + rng.uniform(0.25, 0.75, (3, 1, 1))
        out[i] = np.clip(np.round(img * 255), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return out


def normalise(u8):
    """uint8 NHWC -> float32 NCHW, (x/255 - mean)/std, as frugal quantize --mean/--std does."""
    x = u8.astype(np.float32) / 255.0
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def write_idx(path, arr):
    """IDX file of uint8 data (type 0x08)."""
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, arr.ndim))
        for d in arr.shape:
            f.write(struct.pack(">I", d))
        f.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def write_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


def pretrained_like(model, classifier, x):
    """Re-estimate BN statistics on x, then centre and scale the classifier."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels:
                k = m.weight[0].numel()
                m.weight.normal_(0, 1 / k).add_(1 / k)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over all batches
    model.train()
    with torch.no_grad():
        for b in torch.split(x, 32):
            model(b)
    model.eval()
    feats = []
    hook = classifier.register_forward_hook(lambda mod, inp, out: feats.append(inp[0].detach()))
    with torch.no_grad():
        for b in torch.split(x, 32):
            model(b)
    hook.remove()
    f = torch.cat(feats)
    with torch.no_grad():
        w = classifier.weight
        logits = (f - f.mean(0)) @ w.t()
        w.mul_(LOGIT_STD / logits.std(0).mean())
        classifier.bias.copy_(-(f.mean(0) @ w.t()))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "models"
    n_eval = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    n_calib = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    os.makedirs(root, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)

    calib = images(n_calib, seed=1)
    os.makedirs(os.path.join(root, "calib"), exist_ok=True)
    write_idx(os.path.join(root, "calib", "train-images-idx3-ubyte"), calib)
    write_idx(os.path.join(root, "calib", "train-labels-idx1-ubyte"), np.zeros(n_calib, dtype=np.uint8))
    # BN statistics come from images disjoint from both the calibration and the eval set.
    stats = torch.from_numpy(normalise(images(256, seed=3)))
    ev = normalise(images(n_eval, seed=2))
    write_npy(os.path.join(root, "eval_inputs.npy"), ev)
    x0 = torch.from_numpy(ev[:1].copy())

    for name, model, cls in [
        ("resnet18", torchvision.models.resnet18(), lambda m: m.fc),
        ("mobilenet_v2", torchvision.models.mobilenet_v2(), lambda m: m.classifier[1]),
    ]:
        pretrained_like(model, cls(model), stats)
        save(root, name, model, x0)
        with torch.no_grad():
            y = torch.cat([model(b) for b in torch.split(torch.from_numpy(ev), 25)])
        write_npy(os.path.join(root, name, "torch_eval.npy"), y.numpy())
        top = y.topk(2, dim=1).values
        print(f"{name}: {y.argmax(1).unique().numel()} distinct top-1 classes over {n_eval} inputs, "
              f"median top-1 margin {float((top[:, 0] - top[:, 1]).median()):.3f}")

    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=True)
    save(root, "conv3x3", conv, torch.randn(1, 64, 56, 56))


if __name__ == "__main__":
    main()
