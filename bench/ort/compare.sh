#!/usr/bin/env bash
# frugal vs ONNX Runtime (npm onnxruntime-node), side by side, batch 1, 2 threads.
#
#   bench/ort/compare.sh [DIR]
#
# Exports ResNet-18 and MobileNetV2 (torchvision architectures, "pretrained-like" weights, see
# export_ort_models.py), a single 3x3 Conv (64->64, 56x56, pad 1, bias) and bert_small (a
# BERT-style encoder with a tied masked-language-model head, int64 token ids [1,32] -> logits
# [1,32,1000]), quantizes the three networks to int8 QDQ with `frugal quantize` (the encoder
# calibrated on token ids from a .npy file), then
#   1. accuracy: runs frugal and ORT, fp32 and int8, on the same N_EVAL synthetic images (token
#      sequences for bert_small, top-1 per token) and prints top-1 agreement / SQNR tables
#      (accuracy.py);
#   2. latency: ROUNDS rounds, each timing every model with `frugal bench model --json
#      --threads 2` and `node bench.js --json --threads 2` (RUNS timed runs after 10 warm-up
#      runs), alternating which engine goes first, and prints the table (summarize.py).
# Environment: ROUNDS (5), RUNS (30), N_EVAL (200), THREADS (2), SKIP_ACCURACY=1, SKIP_LATENCY=1.
# DIR keeps everything (models, outputs, latency.jsonl); it is reused when it already has the
# exported models.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
dir="${1:-$(mktemp -d)}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
ROUNDS="${ROUNDS:-5}" RUNS="${RUNS:-30}" N_EVAL="${N_EVAL:-200}" THREADS="${THREADS:-2}"
py=/usr/bin/python3

# --- what it needs: Debian's torch/torchvision, node + npm, onnxruntime-node ---
need=()
$py -c 'import torchvision' 2>/dev/null || need+=(python3-torch python3-torchvision)
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
if ((${#need[@]})); then
	apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
if [ ! -f "$here/node_modules/onnxruntime-node/package.json" ]; then
	# The CPU binaries ship inside the npm package; skip the optional CUDA download.
	(cd "$here" && ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund)
fi

# --- models, inputs, binaries ---
if [ ! -f "$dir/eval_inputs.npy" ] || [ ! -f "$dir/conv3x3/model.onnx" ] || [ ! -f "$dir/bert_small/model.onnx" ]; then
	$py "$here/export_ort_models.py" "$dir" "$N_EVAL"
fi
go build -o "$dir/frugal" ./cmd/frugal
go build -o "$dir/samples" ./bench/ort/samples
ort() { node "$here/bench.js" "$@"; }
for m in resnet18 mobilenet_v2; do
	"$dir/frugal" quantize "$dir/$m/model.onnx" --data "$dir/calib" --calib 64 \
		--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --out "$dir/$m/int8.onnx" 2>/dev/null
done
"$dir/frugal" quantize "$dir/bert_small/model.onnx" --data "$dir/bert_calib_ids.npy" --calib 64 \
	--out "$dir/bert_small/int8.onnx" 2>/dev/null

# --- accuracy ---
if [ "${SKIP_ACCURACY:-}" != 1 ]; then
	for m in resnet18 mobilenet_v2 bert_small; do
		x="$dir/eval_inputs.npy"
		[ "$m" = bert_small ] && x="$dir/bert_eval_ids.npy"
		echo "running $m on $(basename "$dir")/$(basename "$x") (fp32, int8; frugal, ORT)..." >&2
		"$dir/samples" --threads "$THREADS" "$dir/$m/model.onnx" "$x" "$dir/$m/frugal_fp32.npy"
		ort "$dir/$m/model.onnx" --threads "$THREADS" --samples "$x" --out "$dir/$m/ort_fp32.npy"
		"$dir/samples" --threads "$THREADS" "$dir/$m/int8.onnx" "$x" "$dir/$m/frugal_int8.npy"
		ort "$dir/$m/int8.onnx" --threads "$THREADS" --samples "$x" --out "$dir/$m/ort_int8.npy"
		# Controls: each engine's int8 model run op by op in float (ONNX's QDQ reference
		# semantics, no int8 kernel fusion), to show how far rounding details alone move results.
		"$dir/samples" --threads "$THREADS" --no-optimize "$dir/$m/int8.onnx" "$x" "$dir/$m/frugal_int8_ref.npy"
		ort "$dir/$m/int8.onnx" --threads "$THREADS" --opt disabled --samples "$x" --out "$dir/$m/ort_int8_ref.npy"
	done
	$py "$here/accuracy.py" "$dir" resnet18 mobilenet_v2 bert_small
fi

# --- latency, side by side ---
if [ "${SKIP_LATENCY:-}" != 1 ]; then
	models=(resnet18/model.onnx mobilenet_v2/model.onnx conv3x3/model.onnx resnet18/int8.onnx mobilenet_v2/int8.onnx
		bert_small/model.onnx bert_small/int8.onnx)
	out="$dir/latency.jsonl"
	: >"$out"
	for ((r = 1; r <= ROUNDS; r++)); do
		echo "latency round $r/$ROUNDS..." >&2
		for mm in "${models[@]}"; do
			f() { "$dir/frugal" bench model "$dir/$mm" --threads "$THREADS" --runs "$RUNS" --json | sed "s|^{|{\"engine\":\"frugal\",\"round\":$r,\"name\":\"$mm\",|"; }
			o() { ort "$dir/$mm" --threads "$THREADS" --runs "$RUNS" --json | sed "s|^{|{\"engine\":\"ort\",\"round\":$r,\"name\":\"$mm\",|"; }
			if ((r % 2)); then f >>"$out"; o >>"$out"; else o >>"$out"; f >>"$out"; fi
		done
	done
	base=$(node -e "require('$here/node_modules/onnxruntime-node'); const m=/VmHWM:\s*(\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8')); console.log(m[1]*1024)")
	echo
	echo "$(date -u +%Y-%m-%d) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	$py "$here/summarize.py" "$out" "$base"
fi
