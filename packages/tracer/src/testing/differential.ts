/**
 * Differential checks of random programs (./random-program): on every
 * device, the compiled function (first call and a cached call, each on
 * fresh inputs) must give what the eager function gives, outputs and the
 * inputs it writes into alike, `version` counters included, and, where
 * inputs require grad, the same gradients of a weighted sum of its float32
 * outputs (eager autograd is the reference); a third of the programs are
 * also called at three other lengths of their largest size (one compiled
 * function: dynamic dims, symbolic sizes); and eager webgpu must give what
 * eager cpu gives, gradients included. A failure is shrunk to a smaller program that still
 * fails, and reported with its seed and source.
 *
 * Tolerance (float32's, as the numeric contract in the repository's
 * README.md says): NaN must be NaN, an infinity the same infinity, other
 * floats within rtol 1e-4 and atol 1e-5; int32 and bool exactly.
 */
import { arange, type Device, type DType, manualSeed, type Tensor, tensor } from '@kiln/eager';
import { compile } from '../compile';
import {
  buildFunction,
  deviceDependentValues,
  gradUnstableValues,
  makeInput,
  orderDependentValues,
  type Program,
  programText,
  randomProgram,
  unstableValues,
} from './random-program';

/** A tensor read back: what comparisons need. */
interface Snapshot {
  shape: readonly number[];
  dtype: DType;
  data: number[];
}

interface Outcome {
  outputs: Snapshot[];
  /** The inputs after the call (a program may write into them). */
  inputs: Snapshot[];
  /** `version` of each input, then of each output: in-place writes counted as eager counts them. */
  versions: number[];
  /** Per output: it requires grad. */
  requiresGrad: boolean[];
  /** Per input that requires grad: its gradient (null: none reached it). */
  grads: (Snapshot | null)[];
}

async function snapshot(t: Tensor): Promise<Snapshot> {
  return { shape: [...t.shape], dtype: t.dtype, data: Array.from(await t.data()) };
}

function inputsOf(p: Program, device: Device): Tensor[] {
  return p.inputs.map((x, i) => {
    const t = makeInput(p, i, (data, shape, dtype) => tensor(data, { device, dtype }).reshape(shape));
    return x.grad ? t.requiresGrad_() : t;
  });
}

/**
 * The gradients of the inputs that require grad, of the sum of each float32
 * output whose gradient is stable (see gradUnstableValues) weighted by
 * sin(0.37 k) at element k; empty when no such output requires grad.
 */
function backwardOf(p: Program, inputs: readonly Tensor[], outputs: readonly Tensor[]): (Tensor | null)[] {
  const unstable = gradUnstableValues(p);
  const terms = outputs.flatMap((o, i) => {
    if (unstable.has(p.outputs[i]!) || o.dtype !== 'float32' || !o.requiresGrad) return [];
    const weights = arange(o.numel, { device: o.device }).cast('float32').mul(0.37).sin().reshape(o.shape);
    return [o.mul(weights).sum()];
  });
  if (terms.length === 0) return [];
  terms.reduce((a, b) => a.add(b)).backward();
  return inputs.filter((_, i) => p.inputs[i]!.grad).map((x) => x.grad);
}

async function outcome(p: Program, inputs: Tensor[], outputs: Tensor[]): Promise<Outcome> {
  // Versions before the backward pass, which writes into no input or output.
  const versions = [...inputs, ...outputs].map((t) => t.version);
  const grads = backwardOf(p, inputs, outputs);
  const result = {
    outputs: await Promise.all(outputs.map(snapshot)),
    inputs: await Promise.all(inputs.map(snapshot)),
    versions,
    requiresGrad: outputs.map((o) => o.requiresGrad),
    grads: await Promise.all(grads.map((g) => (g ? snapshot(g) : null))),
  };
  for (const t of [...inputs, ...outputs]) t.dispose();
  return result;
}

/** Runs `call` on fresh inputs with the random streams reset, as every run of a program must. */
async function run(p: Program, device: Device, call: (inputs: Tensor[]) => Tensor[]): Promise<Outcome> {
  manualSeed(p.seed);
  const inputs = inputsOf(p, device);
  manualSeed(p.seed);
  return outcome(p, inputs, call(inputs));
}

function close(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= 1e-5 + 1e-4 * Math.abs(want);
}

/** What a comparison skips beyond shape and dtype: outputs and written inputs whose values depend on rounding (see unstableValues). */
interface Unstable {
  outputs: ReadonlySet<number>;
  inputs: ReadonlySet<number>;
}

function unstableParts(p: Program, values: ReadonlySet<number>): Unstable {
  const inputs = new Set<number>();
  // An in-place write into an input (`x0.add_(...)`) of an unstable value makes the input unstable.
  p.steps.forEach((s, i) => {
    if (values.has(p.inputs.length + i) && s.inPlace === 'operand' && s.uses[0]! < p.inputs.length) inputs.add(s.uses[0]!);
  });
  return { outputs: new Set(p.outputs.flatMap((v, i) => (values.has(v) ? [i] : []))), inputs };
}

/** The first difference between two outcomes, as text, or undefined (`grads`: compare requiresGrad and the gradients too). */
function difference(got: Outcome, want: Outcome, unstable: Unstable, grads: boolean): string | undefined {
  if (grads) {
    const i = want.requiresGrad.findIndex((r, k) => got.requiresGrad[k] !== r);
    if (i >= 0) return `output ${i}: requiresGrad ${got.requiresGrad[i]}, expected ${want.requiresGrad[i]}`;
    if (got.grads.length !== want.grads.length) return `gradients of ${got.grads.length} inputs, expected ${want.grads.length}`;
    const k = want.grads.findIndex((w, j) => (w === null) !== (got.grads[j] === null));
    if (k >= 0) return `gradient ${k}: ${got.grads[k] ? 'present' : 'missing'}, expected ${want.grads[k] ? 'one' : 'none'}`;
  }
  const parts = [
    ...want.outputs.map((w, i) => [`output ${i}`, got.outputs[i], w, unstable.outputs.has(i)] as const),
    ...want.inputs.map((w, i) => [`input x${i} after the call`, got.inputs[i], w, unstable.inputs.has(i)] as const),
    ...(grads ? want.grads.map((w, i) => [`gradient of input ${i} that requires grad`, got.grads[i]!, w!, false] as const) : []),
  ];
  for (const [what, g, w, skip] of parts) {
    if (w === null) continue;
    if (!g) return `${what}: missing`;
    if (g.dtype !== w.dtype || g.shape.join() !== w.shape.join()) return `${what}: ${g.dtype}[${g.shape}] vs ${w.dtype}[${w.shape}]`;
    if (skip) continue;
    const exact = w.dtype !== 'float32';
    const j = w.data.findIndex((v, k) => !(exact ? g.data[k] === v : close(g.data[k]!, v)));
    if (j >= 0) return `${what} element ${j}: ${g.data[j]} vs ${w.data[j]}`;
  }
  const v = want.versions.findIndex((x, i) => got.versions[i] !== x);
  if (v >= 0) {
    const what = v < want.inputs.length ? `input x${v}` : `output ${v - want.inputs.length}`;
    return `${what} version: ${got.versions[v]} vs ${want.versions[v]}`;
  }
  return undefined;
}

const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** What is wrong with program `p` on `devices` (the first problem found), or undefined. */
export async function problemOf(p: Program, devices: readonly Device[]): Promise<string | undefined> {
  const eager: Partial<Record<Device, Outcome>> = {};
  const unstable = unstableParts(p, new Set([...unstableValues(p), ...orderDependentValues(p)]));
  for (const device of devices) {
    const fn = buildFunction(p);
    try {
      eager[device] = await run(p, device, (xs) => fn(...xs));
    } catch (e) {
      return `eager on ${device} threw ${message(e)}`;
    }
    const fast = compile(buildFunction(p));
    for (const call of ['first', 'second'] as const) {
      let got: Outcome;
      try {
        got = await run(p, device, (xs) => fast(...xs));
      } catch (e) {
        return `compiled (${call} call) on ${device} threw ${message(e)}`;
      }
      const diff = difference(got, eager[device]!, unstable, true);
      if (diff) return `compiled (${call} call) vs eager on ${device}: ${diff}`;
    }
  }
  if (p.seed % 3 === 0) {
    const resized = await problemAcrossLengths(p, devices, unstable);
    if (resized) return resized;
  }
  if (eager.cpu && eager.webgpu) {
    const dependent = deviceDependentValues(p);
    const acrossDevices = unstableParts(p, new Set([...unstableValues(p), ...dependent]));
    // Gradients too, unless a value that may differ between devices is in the program (its gradient may differ as much),
    // or a gradient that is singular at 0 (a std over equal values: NaN where float64 sees exactly 0, a number where float32 rounds).
    const grads = dependent.size === 0 && !p.steps.some((s) => s.singularGrad);
    const diff = difference(eager.webgpu, eager.cpu, acrossDevices, grads);
    if (diff) return `eager webgpu vs eager cpu: ${diff}`;
  }
  return undefined;
}

/** The largest input size of `p` (>= 2): the length that `atLength` changes. */
function lengthOf(p: Program): number | undefined {
  const sizes = p.inputs.flatMap((x) => x.shape).filter((n) => n >= 2);
  return sizes.length === 0 ? undefined : Math.max(...sizes);
}

/** Program `p` with every input size `from` made `to`: the same code at another length. */
function atLength(p: Program, from: number, to: number): Program {
  return { ...p, inputs: p.inputs.map((x) => ({ ...x, shape: x.shape.map((n) => (n === from ? to : n)) })) };
}

/**
 * One compiled function called at the program's length and then at three
 * others (sizes read from `shape` become symbolic, graphs are reused):
 * each call must give what eager gives at that length. Lengths where
 * eager itself rejects the program (sizes written as literals) are skipped.
 */
async function problemAcrossLengths(p: Program, devices: readonly Device[], unstable: Unstable): Promise<string | undefined> {
  const length = lengthOf(p);
  if (length === undefined) return undefined;
  for (const device of devices) {
    const fast = compile(buildFunction(p));
    for (const to of [length, length + 1, length + 3, length + 2]) {
      const q = atLength(p, length, to);
      const fn = buildFunction(q);
      let want: Outcome;
      try {
        want = await run(q, device, (xs) => fn(...xs));
      } catch {
        continue;
      }
      let got: Outcome;
      try {
        got = await run(q, device, (xs) => fast(...xs));
      } catch (e) {
        return `compiled at length ${to} (after ${length}) on ${device} threw ${message(e)}`;
      }
      const diff = difference(got, want, unstable, true);
      if (diff) return `compiled at length ${to} (after ${length}) vs eager on ${device}: ${diff}`;
    }
  }
  return undefined;
}

/** Program `p` without step `i` and every step that reads it (outputs that went with them are dropped). */
function withoutStep(p: Program, i: number): Program | undefined {
  const first = p.inputs.length;
  const removed = new Set([first + i]);
  p.steps.forEach((s, k) => {
    if (s.uses.some((v) => removed.has(v))) removed.add(first + k);
  });
  const renumber = (v: number) => v - [...removed].filter((r) => r < v).length;
  const steps = p.steps.filter((_, k) => !removed.has(first + k)).map((s) => ({ ...s, uses: s.uses.map(renumber) }));
  let outputs = p.outputs.filter((v) => !removed.has(v)).map(renumber);
  if (outputs.length === 0) outputs = steps.length > 0 ? [first + steps.length - 1] : [];
  return outputs.length === 0 ? undefined : { ...p, steps, outputs };
}

/** Smaller variants of `p`: a step (and what reads it) removed, fewer outputs, plainer inputs. */
function* simplifications(p: Program): Generator<Program> {
  for (let i = p.steps.length - 1; i >= 0; i--) {
    const q = withoutStep(p, i);
    if (q) yield q;
  }
  if (p.outputs.length > 1) for (const o of p.outputs) yield { ...p, outputs: [o] };
  for (let i = 0; i < p.inputs.length; i++) {
    const x = p.inputs[i]!;
    if (x.grad) yield { ...p, inputs: p.inputs.map((y, k) => (k === i ? { ...y, grad: false } : y)) };
    if (x.layout !== 'contiguous') yield { ...p, inputs: p.inputs.map((y, k) => (k === i ? { ...y, layout: 'contiguous' } : y)) };
    if (['special', 'extreme', 'tiny'].includes(x.values))
      yield { ...p, inputs: p.inputs.map((y, k) => (k === i ? { ...y, values: 'normal' } : y)) };
  }
}

/** The smallest variant of `p` that still fails, found greedily (each kept step removes something). */
export async function shrink(p: Program, devices: readonly Device[]): Promise<{ program: Program; problem: string }> {
  let best = p;
  let problem = (await problemOf(p, devices)) ?? 'no longer fails';
  // A smaller program counts only if it fails the same way (the same check, before the details).
  const kind = (text: string) => text.split(': ')[0];
  for (let improved = true; improved; ) {
    improved = false;
    for (const q of simplifications(best)) {
      const found = await problemOf(q, devices).catch((e: unknown) => `threw ${message(e)}`);
      if (found && kind(found) === kind(problem)) {
        [best, problem, improved] = [q, found, true];
        break;
      }
    }
  }
  return { program: best, problem };
}

/** Checks program `seed`; a failure is shrunk and reported with both listings. */
export async function checkSeed(seed: number, devices: readonly Device[]): Promise<string | undefined> {
  const p = randomProgram(seed);
  const problem = await problemOf(p, devices).catch((e: unknown) => `threw ${message(e)}`);
  if (!problem) return undefined;
  const small = await shrink(p, devices);
  return `program ${seed} failed: ${problem}\n${programText(p)}\n\nshrunk: ${small.problem}\n${programText(small.program)}`;
}
