/**
 * Example app for the load-time transform: a GPT-2 block (pre-layernorm,
 * causal attention, tanh-gelu MLP, residuals) written the way people write
 * it in plain code — weights in module-level variables, `attention` and
 * `mlp` helpers that close over them, a config object — and compiled with
 * `compile(block)`.
 *
 * Run it with the register hook (from test/, where @kiln/tracer resolves):
 *
 *   cd test && node --import tsx --import @kiln/tracer/register closure-app/gpt2-block.ts
 *
 * The transform hands `compile` a getter of the block's closure (the
 * weights, the helpers, the config), so the compiled block replays: a call
 * checks guards and runs the fused graph without running the JavaScript.
 * The same block compiled with `closure: null` (what it gets without the
 * transform) re-runs its JavaScript on each call. The app checks both
 * against eager, prints explain's verdict, and times a call of each.
 *
 * Options: `--json` prints one JSON line (for test/closure-app.test.ts),
 * `--quick` times fewer calls; D=<width> T=<tokens> HEADS=<n> set the size
 * (default 64 x 16 tokens, 4 heads: small, so that per-call overhead shows).
 */
import { allocStorage, F, manualSeed, randn, Tensor, views } from '@kiln/eager';
import type { Backend } from '@kiln/tracer';
import { compile } from '@kiln/tracer';

const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const quick = args.has('--quick');
const D = Number(process.env.D ?? 64);
const T = Number(process.env.T ?? 16);

manualSeed(2);
const weight = (shape: number[]) => randn(shape).mul(0.02);
const gain = () => randn([D]).mul(0.1).add(1);

// The block's parameters, as plain module-level variables: what the block closes over.
let ln1w = gain();
const ln1b = weight([D]);
const attnW = weight([3 * D, D]);
const attnB = weight([3 * D]);
const projW = weight([D, D]);
const projB = weight([D]);
const ln2w = gain();
const ln2b = weight([D]);
const fcW = weight([4 * D, D]);
const fcB = weight([4 * D]);
const fc2W = weight([D, 4 * D]);
const fc2B = weight([D]);
const cfg = { heads: Number(process.env.HEADS ?? 4), eps: 1e-5, name: 'gpt2-block' };

function attention(x: Tensor): Tensor {
  const [B, S, C] = x.shape as [number, number, number];
  const heads = (t: Tensor) => t.reshape([B, S, cfg.heads, C / cfg.heads]).transpose(1, 2);
  const [q, k, v] = F.linear(F.layerNorm(x, [C], ln1w, ln1b, cfg.eps), attnW, attnB)
    .split(C, -1)
    .map(heads);
  const y = F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }).transpose(1, 2).reshape([B, S, C]);
  return F.linear(y, projW, projB);
}

function mlp(h: Tensor): Tensor {
  const [, , C] = h.shape as [number, number, number];
  return F.linear(F.gelu(F.linear(F.layerNorm(h, [C], ln2w, ln2b, cfg.eps), fcW, fcB), { approximate: 'tanh' }), fc2W, fc2B);
}

function block(x: Tensor): Tensor {
  const h = x.add(attention(x));
  return h.add(mlp(h));
}

const fast = compile(block);
// The same block without the closure getter (as if the transform had not run): it re-runs its JavaScript.
const rerun = compile(block, { closure: null });

/** A backend that computes nothing (new, uninitialized outputs): what is left of a call is kiln's own overhead. */
const noWork: Backend = Object.assign(
  (graph: Parameters<Backend>[0]) => {
    const outs = graph.outputs;
    return () =>
      outs.map(
        (o) =>
          new Tensor(
            allocStorage(
              'cpu',
              'float32',
              o.shape.reduce((a, b) => a * b, 1),
            ),
            views.contiguousView(o.shape),
          ),
      );
  },
  { dynamic: true },
);
const replayOverhead = compile(block, { backend: noWork });
const rerunOverhead = compile(block, { backend: noWork, closure: null });

async function maxDiff(a: Tensor, b: Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

/**
 * Microseconds per call of each function: rounds of `n` calls, the functions
 * interleaved round by round (so a busy moment of the shared machine hits
 * them alike), the fastest round of each.
 */
function perCall(fs: readonly ((x: Tensor) => Tensor)[], x: Tensor, n: number, rounds: number): number[] {
  for (const f of fs) for (let i = 0; i < Math.max(3, n / 4); i++) f(x).dispose();
  const best = fs.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    fs.forEach((f, k) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) f(x).dispose();
      best[k] = Math.min(best[k]!, ((performance.now() - t0) * 1000) / n);
    });
  }
  return best;
}

const input = randn([1, T, D]);
const want = block(input);
const diffReplay = await maxDiff(fast(input), want);
const diffRerun = await maxDiff(rerun(input), want);
const report = fast.explain();
const rerunReport = rerun.explain();

// A weight rebound between calls is seen by the replaying block (it is read fresh through the getter).
ln1w = gain();
const afterRebind = await maxDiff(fast(input), block(input));

const n = quick ? 10 : 50;
const rounds = quick ? 3 : 20;
const [eagerUs, replayUs, rerunUs] = perCall([block, fast, rerun], input, n, rounds) as [number, number, number];
const [replayOverheadUs, rerunOverheadUs] = perCall([replayOverhead, rerunOverhead], input, n * 4, rounds) as [number, number];

const stackLine = Number(/gpt2-block\.ts:(\d+):\d+/.exec(new Error('where').stack ?? '')?.[1] ?? -1); // STACK-MARKER

const result = {
  size: { D, T, heads: cfg.heads },
  mode: report.mode,
  modeReason: report.modeReason,
  rerunMode: rerunReport.mode,
  rerunReason: rerunReport.modeReason,
  kernels: report.graphs.reduce((k, g) => k + g.kernels.length, 0),
  ops: report.opCount,
  diffReplay,
  diffRerun,
  afterRebind,
  recompiles: fast.stats.recompiles.length,
  eagerUs,
  replayUs,
  rerunUs,
  replayOverheadUs,
  rerunOverheadUs,
  overheadModes: [replayOverhead.explain().mode, rerunOverhead.explain().mode],
  stackLine,
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`GPT-2 block [1, ${T}, ${D}], ${cfg.heads} heads, cpu: ${report.opCount} ops -> ${result.kernels} kernels`);
  console.log(`compile(block)                   mode: ${report.mode} (${report.modeReason})`);
  console.log(`compile(block, { closure: null }) mode: ${rerunReport.mode} (${rerunReport.modeReason.slice(0, 140)}...)`);
  console.log(
    `max |compiled - eager|: replay ${diffReplay.toExponential(2)}, re-run ${diffRerun.toExponential(2)}; after rebinding ln1w ${afterRebind.toExponential(2)} (recompiles: ${result.recompiles})`,
  );
  const us = (v: number) => `${v.toFixed(0).padStart(7)} us`;
  console.log('per call (fastest round)            inductor   no-work backend (kiln overhead alone)');
  console.log(`  eager                          ${us(eagerUs)}`);
  console.log(`  replay                         ${us(replayUs)}   ${us(replayOverheadUs)}`);
  console.log(`  re-run                         ${us(rerunUs)}   ${us(rerunOverheadUs)}`);
  console.log(`  re-run - replay                ${us(rerunUs - replayUs)}   ${us(rerunOverheadUs - replayOverheadUs)}`);
}
