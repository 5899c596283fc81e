/**
 * The WebAssembly SIMD kernels (issue 15) against kiln's JS cpu kernels
 * (the JS matmul, eager's softmax and gelu), one thread, same run.
 * Matmul: GFLOP/s at 256³, 512³, 1024³ for the wasm micro-kernel (B packed
 * on every call, operands already in wasm memory) and eager's `matmul` on
 * cpu tensors with KILN_CPU_TARGET=js (its JS loops; by default eager's
 * float32 matmul is this gemm, threaded). Each result is checked against
 * the other first.
 *
 * Two figures per cell from tinybench: the median and the best (minimum)
 * wall time. On a loaded machine the median counts other processes' turns
 * on the core; the best call is the one least interrupted (interference
 * only adds time), closest to what the kernel does on a quiet core.
 * (Process CPU time is no better here: it includes V8's helper threads and
 * is accounted in scheduler ticks.)
 *
 * Run: npx tsx benchmarks/wasm-kernels.bench.ts [--quick]
 */
import { cpus, loadavg } from 'node:os';
import { F, matmul, randn, type Tensor, tidy } from '@kiln/eager';
// The wasm target is not exported from @kiln/inductor until it is wired into the compiler.
import {
  DEFAULT_MATMUL,
  geluErf,
  input,
  matmulModule,
  pointwiseModule,
  softmaxModule,
  WasmArena,
} from '../packages/inductor/src/targets/wasm';
import { allClose } from './lib/check';
import { measure, type Timing } from './lib/measure';

const quick = process.argv.includes('--quick');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const loadAtStart = load();
const sizes = quick ? [256] : [256, 512, 1024];

async function eagerData(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

/** Times an eager cpu op: the result computed and freed per call (the cpu backend runs synchronously). */
const eagerStep = (fn: () => Tensor) => () => tidy(fn).dispose();

interface Row {
  case: string;
  wasm: string;
  'eager cpu (JS)': string;
  speedup: string;
}
const rows: Row[] = [];
/** A cell: median (best) as GFLOP/s when `flop` is given, else in ms. */
const cell = (t: Timing, flop?: number) =>
  flop
    ? `${(flop / t.medianMs / 1e6).toFixed(1)} (best ${(flop / t.minMs / 1e6).toFixed(1)})`
    : `${t.medianMs.toFixed(2)} ms (best ${t.minMs.toFixed(2)})`;
const speedup = (wasm: Timing, eager: Timing) =>
  `${(eager.medianMs / wasm.medianMs).toFixed(1)}x (best ${(eager.minMs / wasm.minMs).toFixed(1)}x)`;

/** `f` with eager's cpu kernels the JS ones (KILN_CPU_TARGET=js). */
function onJs<T>(f: () => T): T {
  process.env.KILN_CPU_TARGET = 'js';
  try {
    return f();
  } finally {
    delete process.env.KILN_CPU_TARGET;
  }
}

for (const n of sizes) {
  const a = randn([n, n]);
  const b = randn([n, n]);
  const cfg = DEFAULT_MATMUL;
  const arena = new WasmArena();
  const module = matmulModule(cfg);
  const [pa, pb] = [arena.put(await eagerData(a)), arena.put(await eagerData(b))];
  const packed = arena.alloc(Math.ceil(n / cfg.nr) * cfg.nr * n);
  const pc = arena.alloc(n * n);
  const bias = arena.alloc(n + cfg.nr);
  const scratch = arena.alloc(cfg.mr * cfg.nr + cfg.mc * cfg.kc);
  const [packB, gemm] = [arena.kernel(module, 'packB'), arena.kernel(module, 'gemm')];
  const wasmCall = () => {
    packB(packed, pb, n, n, n, 1, Math.ceil(n / cfg.nr));
    gemm(pa, n, 1, packed, pc, n, n, n, n, bias, scratch, 0);
  };
  wasmCall();
  const check = allClose(arena.f32(pc, n * n), await eagerData(onJs(() => matmul(a, b))), [n, n], {
    rtol: 1e-4,
    atol: 1e-3 * Math.sqrt(n),
  });
  if (!check.ok) throw new Error(`wasm matmul ${n} disagrees with eager: ${JSON.stringify(check.worst)}`);
  const options = { iterations: n >= 1024 ? 5 : 10, timeMs: 1000 };
  const wasm = await measure(`wasm matmul ${n}`, wasmCall, options);
  const eager = await measure(
    `eager matmul ${n}`,
    eagerStep(() => onJs(() => matmul(a, b))),
    options,
  );
  const flop = 2 * n ** 3;
  rows.push({ case: `matmul ${n}³ GFLOP/s`, wasm: cell(wasm, flop), 'eager cpu (JS)': cell(eager, flop), speedup: speedup(wasm, eager) });
}

{
  // W2-style softmax 1024² and a gelu (erf) over 4M floats.
  const arena = new WasmArena();
  const s = randn([1024, 1024]);
  const ps = arena.put(await eagerData(s));
  const out = arena.alloc(1024 * 1024);
  const softmax = arena.kernel(softmaxModule(), 'run');
  const smCall = () => softmax(out, ps, 1024, 1024);
  smCall();
  const smCheck = allClose(arena.f32(out, 1024 * 1024), await eagerData(F.softmax(s, -1)), [1024, 1024], { rtol: 1e-4, atol: 1e-6 });
  if (!smCheck.ok) throw new Error(`wasm softmax disagrees with eager: ${JSON.stringify(smCheck.worst)}`);
  const x = randn([4 << 20]);
  const px = arena.put(await eagerData(x));
  const gout = arena.alloc(4 << 20);
  const gelu = arena.kernel(pointwiseModule(geluErf(input(0))), 'run');
  const geluCall = () => gelu(gout, px, 4 << 20);
  geluCall();
  const gCheck = allClose(arena.f32(gout, 4 << 20), await eagerData(x.gelu()), [4 << 20], { rtol: 1e-4, atol: 1e-5 });
  if (!gCheck.ok) throw new Error(`wasm gelu disagrees with eager: ${JSON.stringify(gCheck.worst)}`);
  for (const [name, wasmCall, eagerCall] of [
    ['softmax 1024x1024', smCall, eagerStep(() => F.softmax(s, -1))],
    ['gelu (erf) 4M', geluCall, eagerStep(() => x.gelu())],
  ] as const) {
    const w = await measure(`wasm ${name}`, wasmCall, { iterations: 10 });
    const e = await measure(`eager ${name}`, eagerCall, { iterations: 10 });
    rows.push({ case: name, wasm: cell(w), 'eager cpu (JS)': cell(e), speedup: speedup(w, e) });
  }
}

console.log(
  `one thread, Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}; load average ${loadAtStart} at start, ${load()} at end`,
);
console.table(rows);
