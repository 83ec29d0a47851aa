#!/usr/bin/env node
// ONNX Runtime (npm onnxruntime-node) side of bench/ort/compare.sh.
//
// Latency, like `frugal bench model --json`:
//   node bench.js MODEL.onnx [--threads 2] [--batch 1] [--runs 100] [--warmup 10] [--json]
//   -> {"model","median_ms","p90_ms","runs","batch","threads","peak_rss_bytes","ort_version"}
//   Inputs are random with the declared shapes (symbolic dimensions = --batch): floats uniform
//   in [0,1), integers and bools zero, as frugal's report.RandomInputs makes them.
//
// Outputs for accuracy comparisons:
//   node bench.js MODEL.onnx -i IN0.pb|IN0.npy [-i IN1 ...] -o OUTDIR
//     runs once and writes OUTDIR/output_N.pb (TensorProto), as `frugal run` does.
//   node bench.js MODEL.onnx --samples X.npy --out Y.npy
//     for a single-input model: row i of X (any shape whose row size matches the input's
//     element count) is fed as one input, and row i of Y is the first output, flattened.
//
// Session: intraOpNumThreads = --threads, interOpNumThreads 1, sequential execution,
// graphOptimizationLevel 'all' (--opt disabled|basic|extended|all; 'disabled' runs a QDQ model
// op by op in float, ONNX's reference semantics, without int8 kernel fusion). peak_rss_bytes is VmHWM of this node process (so it includes
// node/V8's own ~40-50 MB), the same measure frugal reports for its process.
'use strict';

const fs = require('fs');
const path = require('path');
const os = require('os');
const ort = require('onnxruntime-node');

function usage(msg) {
  if (msg) console.error('bench.js: ' + msg);
  console.error('usage: node bench.js MODEL.onnx [--threads T] [--batch B] [--runs N] [--warmup W] [--opt LEVEL] [--no-spin] [--json]\n' +
    '       node bench.js MODEL.onnx -i IN.pb|IN.npy [-i ...] -o OUTDIR\n' +
    '       node bench.js MODEL.onnx --samples X.npy --out Y.npy');
  process.exit(2);
}

function parseArgs(argv) {
  const a = {threads: 2, batch: 1, runs: 100, warmup: 10, json: false, inputs: [], outDir: '', samples: '', out: '', model: '', opt: 'all', spin: true, profile: ''};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage('missing value for ' + k);
      return argv[++i];
    };
    const int = (v) => {
      const n = Number(v);
      if (!Number.isInteger(n)) usage(`${k}: not an integer: ${v}`);
      return n;
    };
    switch (k) {
      case '--threads': a.threads = int(next()); break;
      case '--batch': a.batch = int(next()); break;
      case '--runs': a.runs = int(next()); break;
      case '--warmup': a.warmup = int(next()); break;
      case '--json': a.json = true; break;
      case '--opt': a.opt = next(); break;
      case '--no-spin': a.spin = false; break;
      case '--profile': a.profile = next(); break;
      case '-i': case '--input': a.inputs.push(next()); break;
      case '-o': a.outDir = next(); break;
      case '--samples': a.samples = next(); break;
      case '--out': a.out = next(); break;
      case '-h': case '--help': usage(); break;
      default:
        if (k.startsWith('-') || a.model) usage('unexpected argument ' + k);
        a.model = k;
    }
  }
  if (!a.model) usage('missing MODEL.onnx');
  if (a.batch <= 0 || a.runs <= 0 || a.warmup < 0 || a.threads < 0) usage('--batch and --runs must be positive, --warmup and --threads not negative');
  if (!['disabled', 'basic', 'extended', 'all'].includes(a.opt)) usage('--opt: want disabled, basic, extended or all');
  if (a.inputs.length && !a.outDir) usage('-i needs -o OUTDIR');
  if (a.samples && !a.out) usage('--samples needs --out Y.npy');
  return a;
}

// ---- dtypes ----
// ONNX TensorProto data_type <-> ORT type name <-> typed array <-> npy descr.
const DTYPES = [
  {onnx: 1, ort: 'float32', arr: Float32Array, npy: ['<f4'], size: 4},
  {onnx: 2, ort: 'uint8', arr: Uint8Array, npy: ['|u1', '<u1'], size: 1},
  {onnx: 3, ort: 'int8', arr: Int8Array, npy: ['|i1', '<i1'], size: 1},
  {onnx: 6, ort: 'int32', arr: Int32Array, npy: ['<i4'], size: 4},
  {onnx: 7, ort: 'int64', arr: BigInt64Array, npy: ['<i8'], size: 8},
  {onnx: 9, ort: 'bool', arr: Uint8Array, npy: ['|b1'], size: 1},
  {onnx: 11, ort: 'float64', arr: Float64Array, npy: ['<f8'], size: 8},
];
const byOnnx = (t) => DTYPES.find((d) => d.onnx === t);
const byOrt = (t) => DTYPES.find((d) => d.ort === t);
const byNpy = (t) => DTYPES.find((d) => d.npy.includes(t));

function typedFrom(dt, buf) {
  // copy: the Buffer's offset need not be aligned for the element size
  const b = Buffer.from(buf);
  return new dt.arr(b.buffer, b.byteOffset, b.length / dt.size);
}

// ---- TensorProto (protobuf wire format, by hand) ----
function readVarint(buf, pos) {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}

function decodeTensorProto(buf) {
  const dims = [];
  let dataType = 0;
  let name = '';
  let raw = null;
  const floats = [], doubles = [], int32s = [], int64s = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (field === 1) dims.push(Number(v));
      else if (field === 2) dataType = Number(v);
      else if (field === 5) int32s.push(Number(BigInt.asIntN(32, v)));
      else if (field === 7) int64s.push(BigInt.asIntN(64, v));
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const body = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
      if (field === 8) name = body.toString('utf8');
      else if (field === 9) raw = body;
      else if (field === 4) for (let j = 0; j + 4 <= body.length; j += 4) floats.push(body.readFloatLE(j));
      else if (field === 10) for (let j = 0; j + 8 <= body.length; j += 8) doubles.push(body.readDoubleLE(j));
      else if (field === 1 || field === 5 || field === 7) {
        let p = 0;
        while (p < body.length) {
          let v;
          [v, p] = readVarint(body, p);
          if (field === 1) dims.push(Number(v));
          else if (field === 5) int32s.push(Number(BigInt.asIntN(32, v)));
          else int64s.push(BigInt.asIntN(64, v));
        }
      }
    } else if (wire === 5) pos += 4;
    else if (wire === 1) pos += 8;
    else throw new Error('unsupported wire type ' + wire);
  }
  const dt = byOnnx(dataType);
  if (!dt) throw new Error(`TensorProto data_type ${dataType} not supported here`);
  let data;
  if (raw) data = typedFrom(dt, raw);
  else if (dt.onnx === 1) data = Float32Array.from(floats);
  else if (dt.onnx === 11) data = Float64Array.from(doubles);
  else if (dt.onnx === 7) data = BigInt64Array.from(int64s);
  else data = dt.arr.from(int32s);
  return {name, dims, type: dt.ort, data};
}

function varint(v) {
  const out = [];
  let x = BigInt(v);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return Buffer.from(out);
}

function encodeTensorProto(t, name) {
  const dt = byOrt(t.type);
  if (!dt) throw new Error(`output type ${t.type} not supported here`);
  const parts = [];
  for (const d of t.dims) parts.push(varint(1 << 3), varint(d));
  parts.push(varint(2 << 3), varint(dt.onnx));
  const nb = Buffer.from(name, 'utf8');
  parts.push(varint((8 << 3) | 2), varint(nb.length), nb);
  const raw = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  parts.push(varint((9 << 3) | 2), varint(raw.length), raw);
  return Buffer.concat(parts);
}

// ---- .npy (version 1/2/3, C order) ----
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.readUInt32BE(0) !== 0x934e554d || buf.toString('latin1', 4, 6) !== 'PY') throw new Error(file + ': not an .npy file');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(file + ': bad .npy header ' + header);
  if (fortran[1] === 'True') throw new Error(file + ': Fortran-order .npy not supported');
  const dt = byNpy(descr[1]);
  if (!dt) throw new Error(`${file}: dtype ${descr[1]} not supported here`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  return {dims, type: dt.ort, data: typedFrom(dt, buf.subarray(hstart + hlen))};
}

function writeNpy(file, dims, data) {
  const dt = byOrt(typeName(data));
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${dt.npy[0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt32BE(0x934e554d, 0);
  pre.write('PY', 4, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

function typeName(arr) {
  if (arr instanceof Float32Array) return 'float32';
  if (arr instanceof Float64Array) return 'float64';
  if (arr instanceof BigInt64Array) return 'int64';
  if (arr instanceof Int32Array) return 'int32';
  if (arr instanceof Int8Array) return 'int8';
  return 'uint8';
}

function readTensor(file) {
  return file.endsWith('.npy') ? readNpy(file) : decodeTensorProto(fs.readFileSync(file));
}

// ---- helpers ----
function peakRSS() {
  try {
    const m = /VmHWM:\s*(\d+)\s*kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch (e) { /* not Linux */ }
  return process.resourceUsage().maxRSS * 1024;
}

function randomInput(meta, batch, rng) {
  if (!meta.isTensor) throw new Error(`input ${meta.name} is not a tensor`);
  const dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : batch));
  const n = dims.reduce((a, b) => a * b, 1);
  const dt = byOrt(meta.type);
  if (!dt) throw new Error(`input ${meta.name}: type ${meta.type} not supported here`);
  const data = new dt.arr(n);
  if (dt.ort === 'float32' || dt.ort === 'float64') for (let i = 0; i < n; i++) data[i] = rng();
  return new ort.Tensor(meta.type, data, dims);
}

// xorshift32: deterministic uniform [0,1) floats
function makeRng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function quantile(sorted, q) {
  return sorted[Math.floor(sorted.length * q)];
}

const profilePrefix = `frugal-ort-profile-${process.pid}`;

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: a.opt,
    // ORT's pool threads spin while waiting for work by default; --no-spin makes them sleep,
    // which costs a little on an idle machine and helps a lot on an oversubscribed one.
    extra: a.spin ? {} : {session: {intra_op: {allow_spinning: '0'}}},
    // --profile: ORT's own per-node trace (Chrome trace JSON), summarized below.
    enableProfiling: !!a.profile,
    profileFilePrefix: a.profile ? path.join(os.tmpdir(), profilePrefix) : undefined,
  });
  const ins = session.inputMetadata;

  if (a.inputs.length) {
    if (a.inputs.length !== ins.length) usage(`${a.model} takes ${ins.length} inputs, ${a.inputs.length} given with -i`);
    const feeds = {};
    a.inputs.forEach((f, i) => {
      const t = readTensor(f);
      feeds[ins[i].name] = new ort.Tensor(t.type, t.data, t.dims);
    });
    const out = await session.run(feeds);
    fs.mkdirSync(a.outDir, {recursive: true});
    session.outputNames.forEach((name, j) => {
      fs.writeFileSync(path.join(a.outDir, `output_${j}.pb`), encodeTensorProto(out[name], name));
    });
    return;
  }

  if (a.samples) {
    if (ins.length !== 1) usage('--samples needs a single-input model');
    const x = readNpy(a.samples);
    const meta = ins[0];
    const dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : a.batch));
    const per = dims.reduce((p, q) => p * q, 1);
    const n = x.dims[0];
    if (x.data.length !== n * per) throw new Error(`${a.samples}: rows of ${x.data.length / n} elements, the input ${meta.name} has ${per}`);
    const name = session.outputNames[0];
    let out = null;
    let outPer = 0;
    for (let i = 0; i < n; i++) {
      const row = x.data.slice(i * per, (i + 1) * per);
      const y = (await session.run({[meta.name]: new ort.Tensor(x.type, row, dims)}))[name];
      if (!out) {
        outPer = y.data.length;
        out = new y.data.constructor(n * outPer);
      }
      out.set(y.data, i * outPer);
    }
    writeNpy(a.out, [n, outPer], out);
    return;
  }

  const rng = makeRng(1);
  const feeds = {};
  for (const m of ins) feeds[m.name] = randomInput(m, a.batch, rng);
  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < a.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((p, q) => p - q);
  const res = {
    model: a.model, median_ms: quantile(times, 0.5), p90_ms: quantile(times, 0.9), runs: a.runs, batch: a.batch,
    threads: a.threads, spin: a.spin, peak_rss_bytes: peakRSS(), ort_version: ort.env.versions.node,
  };
  if (a.profile) {
    // endProfiling returns nothing in onnxruntime-node: find the newest trace with our prefix.
    session.endProfiling();
    const dir = os.tmpdir();
    const traces = fs.readdirSync(dir).filter((f) => f.startsWith(profilePrefix) && f.endsWith('.json'))
      .map((f) => path.join(dir, f)).sort((p, q) => fs.statSync(q).mtimeMs - fs.statSync(p).mtimeMs);
    if (!traces.length) throw new Error('--profile: ONNX Runtime wrote no trace in ' + dir);
    const trace = traces[0];
    res.profile = summarizeProfile(trace, a.runs + a.warmup, a.profile);
    fs.unlinkSync(trace);
  }
  if (a.json) console.log(JSON.stringify(res));
  else {
    console.log(`${a.model}: median ${res.median_ms.toFixed(3)} ms, p90 ${res.p90_ms.toFixed(3)} ms over ${a.runs} runs ` +
      `(batch ${a.batch}, ${a.threads} threads, onnxruntime-node ${res.ort_version}), peak RSS ${(res.peak_rss_bytes / 1048576).toFixed(1)} MiB`);
  }
}

// summarizeProfile reads ORT's Chrome trace and writes OUT (JSON): per node of the optimized
// graph, its operator and the median over runs of its kernel time in microseconds, in execution
// order; ORT's own names, so fused nodes show as ORT fused them. Returns OUT's path.
function summarizeProfile(traceFile, runs, out) {
  const events = JSON.parse(fs.readFileSync(traceFile, 'utf8'));
  const byNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!byNode.has(name)) byNode.set(name, {name, op: (e.args && e.args.op_name) || '', us: []});
    byNode.get(name).us.push(e.dur);
  }
  const nodes = [...byNode.values()].map((n) => {
    const s = n.us.slice().sort((p, q) => p - q);
    return {name: n.name, op: n.op, median_us: quantile(s, 0.5), calls: s.length};
  });
  fs.writeFileSync(out, JSON.stringify({trace_runs: runs, nodes}, null, 1));
  return out;
}

main().catch((e) => {
  console.error('bench.js: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
