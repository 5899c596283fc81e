/**
 * Matmul parity (issue 16): for every matmul shape of W4, W5, W6 and W9,
 * eager's matmul against the compiled matmul alone and with the epilogue
 * its workload fuses into it (bias, activation, residual, scale), in the
 * same run on webgpu. Two figures per column: wall time per call (tinybench
 * medians, columns taking turns, each call forcing completion by reading one
 * element back) and the matmul kernel's own GPU time (timestamps, median of
 * a few profiled calls), which the shared machine's noise touches less.
 *
 * With `--mode max-autotune`, a third compiled column: the fused matmul
 * (or the bare one) compiled with max-autotune, its tuned choice listed
 * after the table (KILN_CACHE_DIR picks the autotune cache's folder).
 *
 * Run: pnpm bench:matmul [--quick] [--only W4,W9] [--mode max-autotune]
 */
import { initWebGpu, manualSeed, randn, type Tensor, tidy } from '@kiln/eager';
import { currentRuntime, type GpuRuntime, probeWebGpu } from '@kiln/gpu-runtime';
import { autotuned, type CompileMode, compile } from '@kiln/tracer';
import { allClose, describeCheck } from './lib/check';
import { step, sync } from './lib/sync';
import { FULL, QUICK, timeColumns } from './lib/timing';
import { matmulSize } from './workloads/w5-matmul';

/** One matmul as a workload runs it: its operands, the bare product and the product with its fused epilogue. */
interface MatmulCase {
  workload: string;
  what: string;
  /** Operands (built once, seeded); the last ones are what the epilogue reads. */
  make(): Tensor[];
  matmul(...args: Tensor[]): Tensor;
  /** The matmul with the elementwise tail its workload fuses into it; absent when it has none. */
  fused?(...args: Tensor[]): Tensor;
}

const device = 'webgpu';
const D = 768;
const HEADS = 12;
const w = (shape: number[]) => randn(shape, { device }).mul(0.02);

// The cases call helpers (free variables), so the compiled functions re-run their JavaScript on each
// call (explain says so); the kernels are those of the workloads.
const linear = (x: Tensor, weight: Tensor) => x.matmul(weight.transpose(0, 1));

/** The linear layers of a transformer MLP and attention at `tokens` tokens, as W4, W6 and W9 run them. */
function linearCases(workload: string, tokens: number, batched: boolean, gelu: 'none' | 'tanh'): MatmulCase[] {
  const x = (cols: number) => randn(batched ? [1, tokens, cols] : [tokens, cols], { device });
  const shape = (n: number, k: number) => `[${tokens}, ${k}] x [${n}, ${k}]ᵀ`;
  const cases: MatmulCase[] = [
    {
      workload,
      what: `fc ${shape(4 * D, D)} + bias, gelu${gelu === 'tanh' ? ' (tanh)' : ''}`,
      make: () => [x(D), w([4 * D, D]), w([4 * D])],
      matmul: linear,
      fused: (a, weight, b) => linear(a, weight).add(b).gelu({ approximate: gelu }),
    },
    {
      workload,
      what: `fc2 ${shape(D, 4 * D)} + bias${batched ? ' + residual' : ''}`,
      make: () => [x(4 * D), w([D, 4 * D]), w([D]), x(D)],
      matmul: linear,
      fused: batched ? (a, weight, b, r) => r.add(linear(a, weight).add(b)) : (a, weight, b) => linear(a, weight).add(b),
    },
  ];
  if (!batched) return cases;
  const hd = D / HEADS;
  // q and k as the block makes them: views of the qkv projection's output, heads split off.
  const heads = (qkv: Tensor, part: number) =>
    qkv
      .slice(-1, part * D, (part + 1) * D)
      .reshape([1, tokens, HEADS, hd])
      .transpose(1, 2);
  return [
    {
      workload,
      what: `qkv ${shape(3 * D, D)} + bias`,
      make: () => [x(D), w([3 * D, D]), w([3 * D])],
      matmul: linear,
      fused: (a, weight, b) => linear(a, weight).add(b),
    },
    {
      workload,
      what: `scores q·kᵀ [${HEADS}, ${tokens}, ${hd}] x [${HEADS}, ${tokens}, ${hd}]ᵀ, scale`,
      make: () => [x(3 * D)],
      matmul: (qkv) => heads(qkv, 0).matmul(heads(qkv, 1).transpose(-2, -1)),
      fused: (qkv) =>
        heads(qkv, 0)
          .matmul(heads(qkv, 1).transpose(-2, -1))
          .mul(1 / Math.sqrt(hd)),
    },
    {
      workload,
      what: `weights·v [${HEADS}, ${tokens}, ${tokens}] x [${HEADS}, ${tokens}, ${hd}]`,
      make: () => [randn([1, HEADS, tokens, tokens], { device }), x(3 * D)],
      matmul: (p, qkv) => p.matmul(heads(qkv, 2)),
    },
    {
      workload,
      what: `proj ${shape(D, D)} + bias + residual`,
      make: () => [x(D), w([D, D]), w([D]), x(D)],
      matmul: linear,
      fused: (a, weight, b, r) => r.add(linear(a, weight).add(b)),
    },
    ...cases,
  ];
}

function cases(quick: boolean): MatmulCase[] {
  const n = matmulSize(quick);
  return [
    ...linearCases('W4', quick ? 64 : 256, false, 'none'),
    { workload: 'W5', what: `${n}³`, make: () => [randn([n, n], { device }), randn([n, n], { device })], matmul: (a, b) => a.matmul(b) },
    ...linearCases('W6', quick ? 64 : 128, true, 'tanh'),
    ...linearCases('W9', 64, true, 'tanh'),
    {
      workload: 'W9',
      what: `lm head [64, ${D}] x [8192, ${D}]ᵀ`,
      make: () => [randn([1, 64, D], { device }), w([8192, D])],
      matmul: linear,
    },
  ];
}

/** The GPU time of the matmul kernel of one call of `fn` (the dispatch whose label names a matmul), median of `n`. */
async function kernelMs(rt: GpuRuntime, fn: () => Tensor, n = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    let y: Tensor | undefined;
    const report = await rt.profile(() => {
      y = fn();
    });
    await sync(y!);
    y!.dispose();
    times.push(report.kernels.filter((k) => k.label.includes('matmul')).reduce((s, k) => s + k.ms, 0));
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1]!.toUpperCase().split(',') : undefined;
const modeAt = args.indexOf('--mode');
const mode = (modeAt >= 0 ? args[modeAt + 1] : 'default') as CompileMode;
const tuning = mode === 'max-autotune';

const gpu = await probeWebGpu();
if (!gpu.runtime) {
  console.log(`no WebGPU adapter: ${gpu.reason}`);
  process.exit(0);
}
await initWebGpu();
const rt = currentRuntime()!;
const policy = quick ? QUICK : FULL;
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const ratio = (x: number, eager: number) => (x / eager).toFixed(2);

console.log(`matmul parity on ${rt.adapterInfo.description || rt.adapterInfo.device}${quick ? ' (--quick)' : ''}`);
console.log('ratios: compiled / eager matmul (below 1: compiled is faster); wall = one call to completion, kernel = GPU timestamps\n');
const header = [
  'workload',
  'matmul',
  'eager ms',
  'compiled ms',
  'fused ms',
  'compiled/eager',
  'fused/eager',
  'kernel: eager ms',
  'compiled ms',
  'fused ms',
  'compiled/eager',
  'fused/eager',
  ...(tuning ? ['wall: tuned ms', 'tuned/default', 'kernel: tuned ms', 'tuned/default'] : []),
];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- |').join('')}`);
let failed = false;
const choices: string[] = [];
manualSeed(16);
for (const c of cases(quick)) {
  if (only && !only.includes(c.workload)) continue;
  const inputs = c.make();
  const plain = (xs: Tensor[]) => c.matmul(...xs);
  const compiledPlain = compile(c.matmul);
  const compiledFused = c.fused ? compile(c.fused) : undefined;
  // Compiled with max-autotune (validated by compile), the fused form where there is one; its tuning runs before the timings.
  const compiledTuned = compile(c.fused ?? c.matmul, { mode });
  // Correctness first: each compiled result equals eager's on this device (README's numeric contract).
  for (const [fast, reference] of [
    [compiledPlain, c.matmul],
    [compiledFused, c.fused],
    [tuning ? compiledTuned : undefined, c.fused ?? c.matmul],
  ] as const) {
    if (!fast || !reference) continue;
    const expected = tidy(() => reference(...inputs));
    const actual = fast(...inputs);
    const check = allClose(await actual.data(), await expected.data(), expected.shape, { rtol: 1e-4, atol: 1e-5 });
    if (!check.ok) {
      console.log(`${c.workload} ${c.what}: compiled differs from eager: ${describeCheck(check, expected.numel)}`);
      failed = true;
    }
    actual.dispose();
    expected.dispose();
  }
  await autotuned();
  if (tuning) {
    const notes = compiledTuned.explain().graphs.flatMap((g) => g.kernels.flatMap((k) => (k.autotune ? [k.autotune] : [])));
    choices.push(`${c.workload} ${c.what}: ${notes.join('; ') || 'no matmul kernel'}`);
  }
  const columns = [
    { key: 'eager', step: step(() => plain(inputs)) },
    { key: 'compiled', step: step(() => compiledPlain(...inputs)) },
    ...(compiledFused ? [{ key: 'fused', step: step(() => compiledFused(...inputs)) }] : []),
    ...(tuning ? [{ key: 'tuned', step: step(() => compiledTuned(...inputs)) }] : []),
  ];
  const wall = await timeColumns(columns, policy);
  const kernel = {
    eager: await kernelMs(rt, () => tidy(() => plain(inputs))),
    compiled: await kernelMs(rt, () => compiledPlain(...inputs)),
    fused: compiledFused ? await kernelMs(rt, () => compiledFused(...inputs)) : undefined,
    tuned: tuning ? await kernelMs(rt, () => compiledTuned(...inputs)) : undefined,
  };
  const untuned = kernel.fused ?? kernel.compiled;
  const e = wall.eager!.medianMs;
  const f = wall.fused?.medianMs;
  const cells = [
    c.workload,
    c.what,
    fmt(e),
    fmt(wall.compiled!.medianMs),
    f === undefined ? '—' : fmt(f),
    ratio(wall.compiled!.medianMs, e),
    f === undefined ? '—' : ratio(f, e),
    fmt(kernel.eager),
    fmt(kernel.compiled),
    kernel.fused === undefined ? '—' : fmt(kernel.fused),
    ratio(kernel.compiled, kernel.eager),
    kernel.fused === undefined ? '—' : ratio(kernel.fused, kernel.eager),
    ...(kernel.tuned === undefined
      ? []
      : [
          fmt(wall.tuned!.medianMs),
          ratio(wall.tuned!.medianMs, f ?? wall.compiled!.medianMs),
          fmt(kernel.tuned),
          ratio(kernel.tuned, untuned),
        ]),
  ];
  console.log(`| ${cells.join(' | ')} |`);
  for (const t of inputs) t.dispose();
}
if (tuning)
  console.log(
    `\nmax-autotune choices (tuned/default: the tuned kernel against the default fused one, GPU time):\n${choices.map((c) => `- ${c}`).join('\n')}`,
  );
if (failed) process.exit(1);
