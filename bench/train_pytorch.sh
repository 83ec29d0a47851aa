#!/usr/bin/env bash
# Training throughput, PyTorch CPU vs frugal, side by side: one step =
# forward, cross-entropy, backward, SGD(momentum 0.9) update on synthetic
# data. Usage: bench/train_pytorch.sh [MODEL] [BATCH] [THREADS] [STEPS]
# (defaults: small-cnn 64 2 20). Prints both JSON lines and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-small-cnn}"
batch="${2:-64}"
threads="${3:-2}"
steps="${4:-20}"
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	apt-get update -qq && apt-get install -y -qq python3-torch
fi
bin="$(mktemp -d)/frugal"
go build -o "$bin" ./cmd/frugal
# OpenBLAS would otherwise be pinned to its Haswell (AVX2) kernels.
pt="$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS="$threads" \
	/usr/bin/python3 bench/train_pytorch.py --model "$model" --batch "$batch" --threads "$threads" --steps "$steps")"
if ! fr="$("$bin" bench train --model "$model" --batch "$batch" --threads "$threads" --steps "$steps" --json 2>/dev/null)"; then
	# `frugal bench train` not attached to the CLI yet: same measurement via the test binary.
	fr="$(FRUGAL_BENCH_MODEL="$model" FRUGAL_BENCH_BATCH="$batch" FRUGAL_BENCH_THREADS="$threads" FRUGAL_BENCH_STEPS="$steps" \
		go test ./train -run '^TestBenchJSON$' -count=1 -v | sed -n 's/^BENCH_JSON //p')"
fi
echo "pytorch: $pt"
echo "frugal:  $fr"
/usr/bin/python3 - "$pt" "$fr" <<'PY'
import json, sys
pt, fr = json.loads(sys.argv[1]), json.loads(sys.argv[2])
r = fr["samples_per_s"] / pt["samples_per_s"]
print(f"{pt['model']} batch {pt['batch']}, {pt['threads']} threads: pytorch {pt['samples_per_s']:.0f} samples/s, "
      f"frugal {fr['samples_per_s']:.0f} samples/s, ratio frugal/pytorch = {r:.2f}x")
PY
