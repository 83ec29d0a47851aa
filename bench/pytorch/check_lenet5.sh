#!/usr/bin/env bash
# Exports LeNet-5 from PyTorch (Debian python3-torch) and checks that
# `frugal run` reproduces PyTorch's logits within 1e-5 relative.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	apt-get update -qq && apt-get install -y -qq python3-torch
fi
dir="$(mktemp -d)"
/usr/bin/python3 bench/pytorch/export_lenet5.py "$dir/lenet5"
go run ./cmd/frugal run "$dir/lenet5/model.onnx" -i "$dir/lenet5/test_data_set_0/input_0.pb" -o "$dir/out"
go run ./cmd/frugal compare "$dir/out/output_0.pb" "$dir/lenet5/test_data_set_0/output_0.pb" --rtol 1e-5 --atol 1e-6
