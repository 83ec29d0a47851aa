#!/usr/bin/python3
"""Agreement table for bench/ort/compare.sh. For each MODEL given, reads from DIR/MODEL/:
torch_eval.npy (PyTorch fp32), ort_fp32.npy, frugal_fp32.npy, ort_int8.npy, frugal_int8.npy,
each [N, classes] logits on the same N inputs (or [N, R*classes] for a model that predicts R
tokens per input, as bert_small's [1, 32, 1000]: rows are reshaped to torch_eval.npy's width, so
each token's prediction is one row), and the controls ort_int8_ref.npy and
frugal_int8_ref.npy (the int8 model run op by op in float, ONNX's QDQ reference semantics,
without int8 kernels), and prints for pairs of them:
  top-1   fraction of inputs whose argmax agrees;
  SQNR    10 log10(sum b^2 / sum (a-b)^2) in dB, b the reference (logits are centred, so this
          is signal over error);
  max|d|  largest absolute logit difference, and that over the reference's logit std;
and, to judge whether top-1 means anything, the number of distinct predicted classes and the
median fp32 top-1 margin (top-1 minus top-2 logit). Usage: accuracy.py DIR MODEL..."""
import os
import sys

import numpy as np


def load(d, name, width=None):
    """DIR/name.npy as rows of width (torch_eval's row width), or None if absent."""
    p = os.path.join(d, name + ".npy")
    if not os.path.exists(p):
        return None
    a = np.load(p)
    return a.reshape(-1, width) if width else a


def row(label, a, b):
    if a is None or b is None:
        return f"| {label} | n/a | | |"
    agree = float((a.argmax(1) == b.argmax(1)).mean())
    err = float(((a - b) ** 2).sum())
    sqnr = 10 * np.log10(float((b ** 2).sum()) / err) if err > 0 else float("inf")
    mx = float(np.abs(a - b).max())
    return f"| {label} | {100 * agree:.1f}% ({int(round(agree * len(a)))}/{len(a)}) | {sqnr:.1f} dB | {mx:.3g} ({mx / float(b.std()):.3f} std) |"


def main():
    root = sys.argv[1]
    for m in sys.argv[2:]:
        d = os.path.join(root, m)
        t = load(d, "torch_eval")
        of, ff, oq, fq, oqr, fqr = (load(d, n, t.shape[1]) for n in ("ort_fp32", "frugal_fp32", "ort_int8", "frugal_int8",
                                                                      "ort_int8_ref", "frugal_int8_ref"))
        top = np.sort(t, axis=1)[:, -2:]
        what = "inputs" if of is None or len(of) == len(np.load(os.path.join(d, "ort_fp32.npy"))) else "predictions (tokens)"
        print(f"\n{m}: {len(t)} {what}, {len(np.unique(t.argmax(1)))} distinct fp32 top-1 classes, "
              f"median fp32 top-1 margin {float(np.median(top[:, 1] - top[:, 0])):.3f} (logit std {float(t.std()):.3f})\n")
        print("| pair (a vs reference b) | top-1 agreement | SQNR | max abs diff |")
        print("|---|---|---|---|")
        print(row("frugal int8 vs ORT int8", fq, oq))
        print(row("control: ORT int8 vs ORT int8 unfused (opt disabled)", oq, oqr))
        print(row("control: frugal int8 vs frugal int8 unfused (--no-optimize)", fq, fqr))
        print(row("frugal int8 vs ORT int8 unfused", fq, oqr))
        print(row("frugal int8 vs fp32 (PyTorch)", fq, t))
        print(row("ORT int8 vs fp32 (PyTorch)", oq, t))
        print(row("frugal fp32 vs PyTorch fp32", ff, t))
        print(row("ORT fp32 vs PyTorch fp32", of, t))
        if fq is not None and oq is not None:
            dis = np.nonzero(fq.argmax(1) != oq.argmax(1))[0]
            if len(dis):
                s = np.sort(oq, axis=1)[:, -2:]
                mg = s[dis, 1] - s[dis, 0]
                print(f"\nfrugal/ORT int8 disagreements: inputs {dis.tolist()[:20]}; ORT int8 top-1 margins there: "
                      + ", ".join(f"{v:.3f}" for v in mg[:20]))


if __name__ == "__main__":
    main()
