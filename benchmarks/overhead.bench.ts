/**
 * What compile() costs per call, on the cpu device, with tiny tensors so
 * that the tracer's own work shows:
 *
 * - replay: a cache hit that skips the JavaScript, with 4 tensor inputs and
 *   a graph of one tiny op (cat), against the same op eager; and with a
 *   backend that does no work, which leaves the guard check and the output
 *   rebuild alone;
 * - re-run: a function that must re-run (it reads a free variable), with a
 *   chain of N ops, per recorded op, with the no-work backend (recording,
 *   the structure lookup and the call around it) and with the inductor; and
 *   the floor any tracer pays through the dispatcher (a mode that only makes
 *   a symbolic tensor per op), so that the tracer's own share shows even on
 *   a loaded machine.
 *
 * Run: npx tsx benchmarks/overhead.bench.ts   (targets: replay guard check
 * <= 10 us per call, re-run <= 2 us per op)
 */
import { allocStorage, cat, type Mode, metaStorage, Tensor, tensor, views, withMode } from '@kiln/eager';
import { type Backend, compile } from '@kiln/tracer';
import { measure } from './lib/measure';

/**
 * Times `fn` run `reps` times per sample; returns microseconds per run: the
 * fastest sample, which a loaded machine (2 vCPUs shared with other work)
 * disturbs least. The median is printed beside it.
 */
const medians = new Map<string, number>();
async function perCall(name: string, fn: () => unknown, reps = 200): Promise<number> {
  const t = await measure(
    name,
    () => {
      for (let i = 0; i < reps; i++) fn();
    },
    { timeMs: 400, iterations: 20, warmupIterations: 5 },
  );
  medians.set(name, (t.medianMs * 1000) / reps);
  return (t.minMs * 1000) / reps;
}

/** A new uninitialized float32 tensor: what a backend must at least do per output. */
const fresh = (shape: readonly number[]) =>
  new Tensor(
    allocStorage(
      'cpu',
      'float32',
      shape.reduce((a, b) => a * b, 1),
    ),
    views.contiguousView(shape),
  );

/** A backend that returns new, uncomputed results: what is left of a call is the tracer. */
const noWork: Backend = Object.assign(
  (graph: Parameters<Backend>[0]) => {
    const outs = graph.outputs;
    return () => outs.map((o) => fresh(o.shape));
  },
  { dynamic: true },
);

const [a, b, c, d] = [0, 1, 2, 3].map((i) => tensor([i, i + 1, i + 2, i + 3]));
const catFn = (p: Tensor, q: Tensor, r: Tensor, s: Tensor) => cat([p, q, r, s]);
// `cat` comes from an import, which is a free variable for the source analysis; this one is written without:
const catLocal = (p: Tensor, q: Tensor, r: Tensor, s: Tensor) => p.reshape([1, 4]).add(q).add(r).add(s);

const rows: [string, number, string][] = [];
const row = (name: string, us: number, note = '') => rows.push([name, us, note]);

// ---- replay ----
const eagerOp = await perCall('eager', () => catLocal(a!, b!, c!, d!));
const fastInductor = compile(catLocal);
const fastEager = compile(catLocal, { backend: 'eager' });
const fastNoWork = compile(catLocal, { backend: noWork });
for (const f of [fastInductor, fastEager, fastNoWork]) f(a!, b!, c!, d!);
if (fastNoWork.explain().mode !== 'replay') throw new Error(`expected replay, got ${fastNoWork.explain().modeReason}`);
row('eager: reshape + 3 adds, 4 inputs', eagerOp);
row('replay hit, inductor backend (one fused kernel)', await perCall('replay inductor', () => fastInductor(a!, b!, c!, d!)));
row('replay hit, eager backend', await perCall('replay eager', () => fastEager(a!, b!, c!, d!)), 'runs the same 4 ops op by op');
const guardOnly = await perCall('replay no-work', () => fastNoWork(a!, b!, c!, d!));
row('replay hit, no-work backend', guardOnly, 'guards + plan + output rebuild (+ 1 result tensor)');
const makeOut = await perCall('result tensor', () => fresh([1, 4]));
row('  of which: making the result tensor', makeOut);
row('  => replay overhead (guard check and rebuild)', guardOnly - makeOut, 'target <= 10 us');

const eagerCat = await perCall('eager cat', () => catFn(a!, b!, c!, d!));
const fastCat = compile(catFn);
fastCat(a!, b!, c!, d!);
row('eager: cat of 4 tensors', eagerCat);
row(`compiled cat (${fastCat.explain().mode}: cat is an imported binding)`, await perCall('compiled cat', () => fastCat(a!, b!, c!, d!)));

// ---- re-run ----
let k = 1.5; // a free variable: the function must re-run
const chain = (n: number) => (x: Tensor) => {
  let y = x;
  for (let i = 0; i < n; i++) y = i % 2 ? y.mul(k) : y.add(k);
  return y;
};
/** The dispatcher's share: checking inputs, inferring the output, and a symbolic tensor per op. */
const floorMode: Mode = {
  call: (_op, _ins, _attrs, meta) => new Tensor(metaStorage(meta.device, meta.dtype, 0), views.contiguousView(meta.shape)),
};
for (const n of [10, 50]) {
  const f = chain(n);
  const floor = await perCall(`floor ${n}`, () => withMode(floorMode, () => f(a!)), 50);
  const reNoWork = compile(f, { backend: noWork });
  const reInductor = compile(f);
  reNoWork(a!);
  reInductor(a!);
  if (reNoWork.explain().mode !== 're-run') throw new Error('expected re-run');
  const eager = await perCall(`eager ${n}`, () => f(a!), 50);
  const tNoWork = await perCall(`re-run no-work ${n}`, () => reNoWork(a!), 50);
  const tInductor = await perCall(`re-run inductor ${n}`, () => reInductor(a!), 50);
  row(`eager: chain of ${n} ops`, eager, `${(eager / n).toFixed(2)} us per op`);
  row(`dispatch floor (symbolic tensors only), ${n} ops`, floor, `${(floor / n).toFixed(2)} us per op`);
  row(
    `re-run, no-work backend, ${n} ops`,
    tNoWork,
    `${((tNoWork - makeOut) / n).toFixed(2)} us per recorded op (target <= 2); the tracer's own share ${((tNoWork - makeOut - floor) / n).toFixed(2)} us`,
  );
  row(`re-run, inductor backend, ${n} ops`, tInductor, `${(tInductor / n).toFixed(2)} us per op, one fused kernel`);
}
k = 2;

console.log('\ncompile() overhead on cpu (microseconds per call, fastest sample; medians below)\n');
const width = Math.max(...rows.map((r) => r[0].length));
for (const [name, us, note] of rows) console.log(`${name.padEnd(width)}  ${us.toFixed(2).padStart(9)} us  ${note}`);
console.log('\nmedians:', [...medians].map(([k, v]) => `${k} ${v.toFixed(2)}`).join('; '));
process.exit(0);
