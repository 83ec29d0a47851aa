#!/usr/bin/env bash
# Exports ResNet-18, MobileNetV2 and a small encoder from PyTorch, checks
# frugal's outputs against PyTorch's (1e-4 relative) and times each model at
# batch 1 with 2 threads. Usage: bench/models/check.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-$(mktemp -d)}"
/usr/bin/python3 -c 'import torchvision' 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-torchvision)
/usr/bin/python3 bench/models/export_models.py "$dir"
go build -o "$dir/frugal" ./cmd/frugal
for m in resnet18 mobilenet_v2 bert_small; do
	"$dir/frugal" run "$dir/$m/model.onnx" -i "$dir/$m/test_data_set_0/input_0.pb" -o "$dir/$m/out"
	echo -n "$m vs PyTorch: "
	"$dir/frugal" compare "$dir/$m/out/output_0.pb" "$dir/$m/test_data_set_0/output_0.pb" --rtol 1e-4 --atol 1e-5
	"$dir/frugal" bench model "$dir/$m/model.onnx" --threads 2 --runs 30
done
