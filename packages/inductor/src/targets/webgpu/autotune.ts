/**
 * max-autotune for matmul kernels (compile option `mode: 'max-autotune'`):
 * each matmul kernel of static sizes benchmarks the template variants and
 * tiles its operands' layout allows (matmulCandidates in @kiln/eager/kernels)
 * on the device, checks that each gives the default's results (rtol 1e-4,
 * atol 1e-5: the same sums, maybe in another order), and keeps the fastest.
 * Winners are cached per adapter and kernel key (tuningCache in
 * @kiln/gpu-runtime: a file in Node, memory in a browser), so a later
 * compile of the same shape benchmarks nothing.
 *
 * WebGPU work completes asynchronously and compiling is synchronous, so the
 * benchmarks run after the compile, one kernel at a time in a queue; the
 * kernel launches its default choice until its winner is known.
 * `autotuned()` waits for the queue.
 */
import type { DType } from '@kiln/eager';
import {
  describeTile,
  type MatmulChoice,
  type MatmulLaunch,
  type MatmulTile,
  matmulCandidates,
  matmulDevice,
  sameTile,
} from '@kiln/eager/kernels';
import { type GpuRuntime, log, tuningCache } from '@kiln/gpu-runtime';
import type { MatmulKernel } from '../../codegen/kernel';
import type { BufferElements } from '../target';
import { matmulLaunch, matmulOperands, renderMatmulWgsl } from './render-wgsl';

/** What the cache keeps per kernel key. */
interface TunedEntry {
  variant: MatmulChoice['variant'];
  tile: MatmulTile;
  /** Median kernel time of the winner and of the default choice, ms. */
  ms: number;
  defaultMs: number;
  candidates: number;
}

/** Test hooks: how many candidate dispatches were benchmarked, and a pick that replaces benchmarking. */
export const autotuneTesting: {
  candidateRuns: number;
  pick: ((candidates: readonly MatmulChoice[]) => MatmulChoice) | null;
} = { candidateRuns: 0, pick: null };

let queue: Promise<void> = Promise.resolve();

/** Resolves when every tuning started so far has finished (its winner is in use and cached). */
export function autotuned(): Promise<void> {
  return queue;
}

/** Timed rounds (each runs every candidate once) after the checked warm-up run; the median counts. */
const ROUNDS = 5;

const describeChoice = (c: MatmulChoice) => `tile ${describeTile(c.tile)}, '${c.variant}'`;
const fmt = (ms: number) => `${ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;

/** A matmul kernel's tuning: the choice its launches use now, and what explain says about it. */
export class MatmulTuning {
  /** undefined: the default plan. */
  choice: MatmulChoice | undefined;
  note: string;

  constructor(
    private readonly rt: GpuRuntime,
    private readonly k: MatmulKernel,
    symCount: number,
    elements: BufferElements | undefined,
  ) {
    if (symCount > 0 || !elements) {
      this.note = 'not autotuned: dynamic sizes (the default tile serves every size)';
      return;
    }
    const device = matmulDevice(rt);
    const traced = matmulLaunch(k, [], device);
    const { a, b } = matmulOperands(k, []);
    const candidates = matmulCandidates(a, b, device);
    if (autotuneTesting.pick) {
      this.choice = autotuneTesting.pick(candidates);
      this.note = `chosen by a test hook: ${describeChoice(this.choice)}`;
      return;
    }
    if (candidates.length < 2) {
      this.note = `nothing to tune: one candidate for this layout (${describeChoice(traced)})`;
      return;
    }
    const key = tuningKey(k);
    const cached = this.fromCache(candidates, key);
    if (cached) {
      this.note = cached;
      return;
    }
    this.note = `autotuning ${candidates.length} candidates (the default ${describeChoice(traced)} until done)`;
    queue = queue.then(() => this.tune(candidates, key, elements));
  }

  /** Takes the cached winner for `key` on this adapter, if it is one of `candidates`; what explain says of it. */
  private fromCache(candidates: readonly MatmulChoice[], key: string): string | undefined {
    const cached = tuningCache.get(this.rt.adapterInfo, key) as TunedEntry | undefined;
    // An entry from another kiln version or a hand edit may not be one of these candidates: then it is measured again.
    const valid = cached && typeof cached.tile === 'object' && Number.isFinite(cached.ms) && Number.isFinite(cached.defaultMs);
    const hit = valid && candidates.find((c) => c.variant === cached.variant && sameTile(c.tile, cached.tile));
    if (!cached || !hit) return undefined;
    this.choice = hit;
    return `from the autotune cache: ${describeChoice(hit)} (measured ${fmt(cached.ms)} vs ${fmt(cached.defaultMs)} default)`;
  }

  private async tune(candidates: readonly MatmulChoice[], key: string, elements: BufferElements): Promise<void> {
    // A kernel of the same key queued earlier (another layer, another compile) may have measured it meanwhile.
    const cached = this.fromCache(candidates, key);
    if (cached) {
      this.note = cached;
      return;
    }
    const started = performance.now();
    try {
      const times = await benchmark(this.rt, this.k, candidates, elements);
      log('perf', () => `max-autotune: ${this.k.name}: ${candidates.map((c, i) => `${describeChoice(c)} ${fmt(times[i]!)}`).join('; ')}`);
      const best = times.reduce((b, t, i) => (t < times[b]! ? i : b), 0);
      const winner = candidates[best]!;
      const entry: TunedEntry = { ...winner, ms: times[best]!, defaultMs: times[0]!, candidates: candidates.length };
      tuningCache.set(this.rt.adapterInfo, key, entry);
      this.choice = winner;
      this.note = `autotuned: ${describeChoice(winner)} (${candidates.length} candidates: ${fmt(entry.ms)} vs ${fmt(entry.defaultMs)} default)`;
    } catch (error) {
      this.note = `autotune failed (${error instanceof Error ? error.message : String(error)}): the default tile`;
    }
    log('perf', () => `max-autotune: ${this.k.name} in ${(performance.now() - started).toFixed(0)} ms: ${this.note}`);
  }
}

/** What a winner is cached under: the product's sizes, its operands' layout and the output dtype (not the epilogue or the kernel's name). */
function tuningKey(k: MatmulKernel): string {
  const launch = matmulLaunch(k, [], {
    maxWorkgroups: Number.MAX_SAFE_INTEGER,
    maxInvocations: Number.MAX_SAFE_INTEGER,
    preferSubgroups: false,
  });
  const [M, N, K, aOffset, bOffset, , ...strides] = launch.info;
  return `matmul ${k.outputs[k.output]!.dtype} ${M}x${N}x${K} a@${aOffset} b@${bOffset} info ${strides.join(',')}`;
}

const TYPED: Record<DType, Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor> = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint32Array,
};

/** Deterministic operands: floats in [-1, 1), small integers, 0/1 for bools. */
function fill(dtype: DType, n: number): ArrayBufferView<ArrayBuffer> {
  const data = new TYPED[dtype](Math.max(4, n));
  let s = 1;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = dtype === 'float32' ? s / 2 ** 30 - 1 : s % (dtype === 'bool' ? 2 : 7);
  }
  return data;
}

/** Whether `actual` gives `expected` within rtol 1e-4, atol 1e-5 (NaN where it has NaN). */
function close(actual: ArrayLike<number>, expected: ArrayLike<number>): boolean {
  for (let i = 0; i < expected.length; i++) {
    const [x, y] = [actual[i]!, expected[i]!];
    if (Number.isNaN(y) ? !Number.isNaN(x) : !(Math.abs(x - y) <= 1e-5 + 1e-4 * Math.abs(y))) return false;
  }
  return true;
}

/**
 * Median kernel ms of each candidate on scratch buffers (GPU timestamps
 * where the device has them, else wall time per dispatch: GpuRuntime.profile);
 * Infinity for a candidate whose results differ from the default's (the
 * first), whose grid the device does not allow, or that the first round
 * shows to be over twice the best (never the default). Each round runs every candidate once,
 * so a burst of load elsewhere falls on all of them, not on one.
 */
async function benchmark(
  rt: GpuRuntime,
  k: MatmulKernel,
  candidates: readonly MatmulChoice[],
  elements: BufferElements,
): Promise<number[]> {
  const reads = elements.reads.map((n, i) => {
    const buffer = rt.alloc(Math.max(16, n * 4), 'kiln-autotune');
    rt.device.queue.writeBuffer(buffer, 0, fill(k.inputs[i]!.dtype, n));
    return buffer;
  });
  const outType = TYPED[k.outputs[k.output]!.dtype];
  const out = rt.alloc(Math.max(16, elements.writes[0]! * 4), 'kiln-autotune');
  const device = matmulDevice(rt);
  const extra = k.epilogueInputs.map((i) => reads[i]!);
  // Labels pick each candidate's dispatches out of a profile (a compiled call may record its own meanwhile).
  const labelOf = (i: number) => `${k.name} (autotune ${i + 1})`;
  const byLabel = new Map(candidates.map((_, i) => [labelOf(i), i]));
  const samples: number[][] = candidates.map(() => []);
  let reference: ArrayLike<number> | undefined;
  try {
    const runs = new Map<number, () => void>();
    for (const [i, choice] of candidates.entries()) {
      let launch: MatmulLaunch;
      try {
        launch = matmulLaunch(k, [], device, choice);
      } catch {
        continue; // its grid exceeds the device's workgroups per dimension
      }
      const label = labelOf(i);
      const pipeline = rt.pipeline({ wgsl: renderMatmulWgsl(k, choice, 0), label });
      const run = () => {
        autotuneTesting.candidateRuns++;
        const bindings = [rt.uniform(new Uint32Array(launch.info)), reads[k.a.input]!, reads[k.b.input]!, out, ...extra];
        rt.dispatch(pipeline, bindings, launch.grid, label);
      };
      // The warm-up run is checked against the default's.
      run();
      const result = new outType(await rt.read(out));
      reference ??= result;
      if (close(result, reference)) runs.set(i, run);
      else log('perf', `max-autotune: ${k.name}: ${describeChoice(choice)} differs from the default beyond rtol 1e-4, atol 1e-5; dropped`);
    }
    for (let round = 0; round < ROUNDS && runs.size > 0; round++) {
      const report = await rt.profile(() => {
        for (const run of runs.values()) run();
      });
      for (const t of report.kernels) samples[byLabel.get(t.label) ?? -1]?.push(t.ms);
      if (round === 0) {
        const best = Math.min(...[...runs.keys()].map((i) => samples[i]![0]!));
        // The default stays: it is what the winner is reported against.
        for (const i of [...runs.keys()]) if (i > 0 && samples[i]![0]! > 2 * best) runs.delete(i);
      }
      log('perf', () => `max-autotune: ${k.name}: round ${round + 1} of ${ROUNDS}, ${runs.size} of ${candidates.length} candidates`);
    }
  } finally {
    for (const b of [...reads, out]) rt.release(b);
  }
  return samples.map((ms) => (ms.length === ROUNDS ? ms.sort((x, y) => x - y)[Math.floor(ROUNDS / 2)]! : Infinity));
}
