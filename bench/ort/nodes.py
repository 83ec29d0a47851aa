#!/usr/bin/env python3
"""Per-node time, frugal next to ONNX Runtime, for one model.

    frugal bench model M.onnx --threads 2 --runs 200 --profile --json > fr.json
    node bench/ort/bench.js M.onnx --threads 2 --runs 200 --profile ort.json
    frugal report M.onnx --json --layers > layers.json      # optional, for matching
    python3 bench/ort/nodes.py fr.json ort.json [layers.json] [--all]

Nodes are matched by the name of the ONNX node they come from: frugal keeps the
source name with a suffix for what it fused ("_int8", "_fused", ...), ORT
appends "_token_N" or "_quantized"/"_dequantized", and names a node it fused
(Conv+Clip in NCHWc) after its output tensor. With the layer list of `frugal
report --layers` (the model's nodes in order), a name either engine fused is
charged to the nearest earlier node frugal ran, so fused groups line up, and
rows come in model order. Otherwise a node one engine fused away shows "-". frugal's figure is its mean per run, ORT's the
median of its own trace (which adds ~10-30 us per node of profiling overhead to
ORT's total: compare per node, not the sums against a plain latency run).
"""
import json
import re
import sys

SUFFIXES = re.compile(r'(_token_\d+|_int8|_fused\w*|_quantized|_dequantized|_nchwc|_kernel_time|_output_\d+)+$')


def key(name):
    return SUFFIXES.sub('', name)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    fr = json.load(open(argv[0]))
    ort = json.load(open(argv[1]))
    rest = [a for a in argv[2:] if not a.startswith('--')]
    show_all = '--all' in argv[2:]
    if 'nodes' not in fr:
        sys.exit(f'{argv[0]}: no "nodes": run frugal bench model with --profile --json')
    layers = [l['name'] for l in json.load(open(rest[0]))['layers']] if rest else []
    pos = {name: i for i, name in enumerate(layers)}
    heads = {key(n['node']).split('+')[0] for n in fr['nodes']}

    def canon(name):
        k = key(name).split('+')[0]
        i = pos.get(k)
        if i is None:
            return k
        while i > 0 and layers[i] not in heads:
            i -= 1
        return layers[i]

    rows = {}
    order = []
    for n in ort['nodes']:
        k = canon(n['name'])
        if k not in rows:
            rows[k] = {'op': n['op'], 'fr': None, 'ort': 0.0}
            order.append(k)
        rows[k]['ort'] = (rows[k]['ort'] or 0) + n['median_us']
    for n in fr['nodes']:
        k = canon(n['node'])
        if k not in rows:
            rows[k] = {'op': n['op'], 'fr': None, 'ort': None}
            order.append(k)
        rows[k]['fr'] = (rows[k]['fr'] or 0) + n['ms_per_run'] * 1000
        rows[k]['op'] = n['op']
    tf = sum(r['fr'] or 0 for r in rows.values())
    to = sum(r['ort'] or 0 for r in rows.values())
    if pos:
        order.sort(key=lambda k: pos.get(k, -1))
    items = order if show_all else sorted(order, key=lambda k: -((rows[k]['fr'] or 0) - (rows[k]['ort'] or 0)))[:25]
    print(f'{"node":58s} {"op":16s} {"frugal us":>9s} {"ORT us":>8s} {"ratio":>6s}')
    for k in items:
        r = rows[k]
        f = '-' if r['fr'] is None else f'{r["fr"]:.1f}'
        o = '-' if r['ort'] is None else f'{r["ort"]:.1f}'
        ratio = f'{r["fr"] / r["ort"]:.2f}' if r['fr'] and r['ort'] else ''
        print(f'{k[-58:]:58s} {r["op"][:16]:16s} {f:>9s} {o:>8s} {ratio:>6s}')
    print(f'{"total inside nodes":58s} {"":16s} {tf:9.1f} {to:8.1f} {tf / to if to else 0:6.2f}')


if __name__ == '__main__':
    main(sys.argv[1:])
