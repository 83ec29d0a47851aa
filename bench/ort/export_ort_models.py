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
  <model>/torch_eval.npy    PyTorch's fp32 logits on eval_inputs.npy;
  bert_small/model.onnx     a small BERT-style encoder with a masked-language-model head (see
      BertSmall; opset 14, input "input" int64 [1,32] token ids, output [1,32,1000] logits);
  bert_calib_ids.npy, bert_eval_ids.npy   int64 [N,32] token ids (calibration for
      `frugal quantize --data DIR/bert_calib_ids.npy`; evaluation, one model input per row);
  bert_small/torch_eval.npy PyTorch's fp32 logits on bert_eval_ids.npy as [N_EVAL*32, 1000]:
      one row per token, so a row's argmax is that token's top-1 prediction.

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
The encoder has the same problem in another form: with PyTorch's default initialisation the
residual branches are ~1/sqrt(3) of the skip path, so the post-norm layers pass each token's own
embedding through and the tied head predicts the input token at every position with a margin of
~4 logit std (top-1 the same in any precision). BertSmall.pretrained_like scales attention's
output projection and the FFN's second linear by BRANCH_SCALE = 5 (branches larger than the skip
path), so the context decides the prediction at most positions (the input token itself is
predicted at ~20% of them, 440 distinct tokens over 6400 positions), and scales the final
LayerNorm so the logits' std is LOGIT_STD. ATTN_SCALE > 1 would also sharpen attention (branches
x4 and q/k/v projection x3: 616 distinct tokens, input token at 0.2%), but sharp attention on
random weights amplifies the int8 error of q and k: the int8 model's top-1 agreement with fp32
fell to 76% (16.5 dB SQNR), against 95% (30.6 dB) with ATTN_SCALE = 1, a loss that says more
about random weights than about int8, so it stays 1. Token ids are
drawn from a Zipf-like distribution (p ~ 1/(rank+10) over a random permutation of the
vocabulary), so sequences repeat tokens as text does.
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


VOCAB, D_MODEL, SEQ = 1000, 128, 32
BRANCH_SCALE, ATTN_SCALE = 5.0, 1.0  # see the module docstring


class BertSmall(torch.nn.Module):
    """Token embedding (VOCAB x D_MODEL) plus a learned position embedding, two post-norm
    torch.nn.TransformerEncoderLayer (4 heads, FFN 256, GELU, no dropout, batch first), a final
    LayerNorm, and a masked-language-model head tied to the token embedding:
    logits = h @ E^T + bias, [1, SEQ, VOCAB]."""

    def __init__(self):
        super().__init__()
        self.tok = torch.nn.Embedding(VOCAB, D_MODEL)
        self.pos = torch.nn.Embedding(SEQ, D_MODEL)
        # Two separately initialised layers (nn.TransformerEncoder would deep-copy one).
        self.layers = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(D_MODEL, 4, 256, dropout=0.0, activation="gelu", batch_first=True)
            for _ in range(2)])
        self.ln = torch.nn.LayerNorm(D_MODEL)
        self.bias = torch.nn.Parameter(torch.zeros(VOCAB))
        self.register_buffer("positions", torch.arange(SEQ).unsqueeze(0), persistent=False)

    def forward(self, ids):
        h = self.tok(ids) + self.pos(self.positions)
        for layer in self.layers:
            h = layer(h)
        return torch.nn.functional.linear(self.ln(h), self.tok.weight, self.bias)

    def pretrained_like(self, ids):
        """See the module docstring: residual branches and attention scaled up, logits scaled
        to LOGIT_STD on ids."""
        with torch.no_grad():
            for layer in self.layers:
                layer.self_attn.out_proj.weight.mul_(BRANCH_SCALE)
                layer.linear2.weight.mul_(BRANCH_SCALE)
                layer.self_attn.in_proj_weight.mul_(ATTN_SCALE)
            self.bias.normal_(0, 0.1)
            self.eval()
            self.ln.weight.mul_(LOGIT_STD / float(self(ids).std()))


def token_ids(n, seed):
    """n sequences of SEQ token ids, int64, Zipf-like frequencies."""
    rng = np.random.default_rng(seed)
    p = 1.0 / (np.arange(VOCAB) + 10.0)
    p /= p.sum()
    perm = rng.permutation(VOCAB)
    return perm[rng.choice(VOCAB, size=(n, SEQ), p=p)].astype(np.int64)


def export_bert(root, n_eval, n_calib):
    torch.manual_seed(0)  # the same weights whether or not the other models were exported first
    np.save(os.path.join(root, "bert_calib_ids.npy"), token_ids(n_calib, seed=11))
    ev = token_ids(n_eval, seed=12)
    np.save(os.path.join(root, "bert_eval_ids.npy"), ev)
    model = BertSmall()
    model.pretrained_like(torch.from_numpy(token_ids(256, seed=13)))
    save(root, "bert_small", model, torch.from_numpy(ev[:1].copy()), opset=14)
    with torch.no_grad():
        y = torch.cat([model(torch.from_numpy(ev[i:i + 1])) for i in range(n_eval)]).reshape(-1, VOCAB)
    write_npy(os.path.join(root, "bert_small", "torch_eval.npy"), y.numpy())
    top = y.topk(2, dim=1).values
    copied = float((y.argmax(1) == torch.from_numpy(ev.reshape(-1))).float().mean())
    print(f"bert_small: {y.argmax(1).unique().numel()} distinct top-1 tokens over {n_eval}x{SEQ} positions "
          f"(the input token itself at {100 * copied:.1f}%), median top-1 margin {float((top[:, 0] - top[:, 1]).median()):.3f}")


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

    export_bert(root, n_eval, n_calib)


if __name__ == "__main__":
    main()
