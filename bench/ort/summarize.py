#!/usr/bin/python3
"""Latency table for bench/ort/compare.sh from its latency.jsonl (one JSON line per engine,
round and model, as `frugal bench model --json` / `node bench.js --json` print them, plus
"engine", "round", "name"). Usage: summarize.py latency.jsonl [NODE_BASELINE_RSS_BYTES]

Per model: each engine's best (lowest) per-round median, the ratio frugal/ORT of those, and
each engine's peak RSS (largest over rounds). Best-of-rounds because the machine is shared:
another process on one of the 2 cores stalls a 2-thread run (ORT's spinning pool collapses to
~5x its quiet time, frugal's to ~2x), so per-round ratios swing with other people's load; the
least-disturbed round of each engine is the comparable figure. Every round's numbers stay in
latency.jsonl."""
import json
import sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    base = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else 0
    names = []
    for r in rows:
        if r["name"] not in names:
            names.append(r["name"])
    rounds = sorted({r["round"] for r in rows})
    print(f"batch 1, {rows[0].get('threads', '?')} threads, {rows[0].get('runs', '?')} timed runs per engine per round, "
          f"{len(rounds)} rounds; ms = best per-round median; ratio = frugal/ORT (< 1: frugal faster)\n")
    print("| model | frugal ms | ORT ms | ratio | frugal p90 ms | ORT p90 ms | frugal peak RSS | ORT peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for n in names:
        by = {(r["engine"], r["round"]): r for r in rows if r["name"] == n}
        fr = [by[("frugal", k)] for k in rounds if ("frugal", k) in by]
        orr = [by[("ort", k)] for k in rounds if ("ort", k) in by]
        if not fr or not orr:
            continue
        fbest = min(fr, key=lambda r: r["median_ms"])
        obest = min(orr, key=lambda r: r["median_ms"])
        label = n.replace("/model.onnx", " fp32").replace("/int8.onnx", " int8")
        mib = lambda b: f"{b / 1048576:.0f} MiB"
        print(f"| {label} | {fbest['median_ms']:.2f} | {obest['median_ms']:.2f} | {fbest['median_ms'] / obest['median_ms']:.2f} | "
              f"{fbest['p90_ms']:.2f} | {obest['p90_ms']:.2f} | "
              f"{mib(max(r['peak_rss_bytes'] for r in fr))} | {mib(max(r['peak_rss_bytes'] for r in orr))} |")
    if base:
        print(f"\nORT peak RSS includes node itself: node with onnxruntime-node loaded and no session peaks at {base / 1048576:.0f} MiB.")


if __name__ == "__main__":
    main()
