/**
 * One row of the A/B table: one workload on one device. Every column runs
 * in this process on the same device, each timed call forcing completion by
 * reading one element back; every result is checked against kiln eager on
 * the same device before it is timed.
 */
import { type Device, type Tensor, tidy } from '@kiln/eager';
import type { GpuRuntime } from '@kiln/gpu-runtime';
import { HAND_TOLERANCE, type HandKernel, handKernelFor } from '../hand-kernels';
import { callModel, type Instance, parametersOf, type Tolerance, type Workload } from '../workloads/workload';
import { allClose, type CheckResult, describeCheck } from './check';
import { type CaptureSummary, type Compiler, captureSummary } from './compiled';
import type { Timing } from './measure';
import { step, sync } from './sync';
import { type TfBackend, type TfPeers, type TfTensor, tfStep } from './tfjs';
import { type TimingPolicy, timeColumns } from './timing';

/** Kiln's own tolerance for compiled against eager (docs/ARCHITECTURE.md, "The correctness rule"). */
export const KILN_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

export type Column = 'eager' | 'compiled' | 'hand' | TfBackend;

/** A measured column, or why it has no number. */
export type Cell = { timing: Timing; note?: string } | { missing: string };

export interface CheckSummary {
  ok: boolean;
  mismatches: number;
  maxAbsError: number;
  tolerance: Tolerance;
  worst: CheckResult['worst'];
}

export interface RowResult {
  id: string;
  title: string;
  size: string;
  device: Device;
  cells: Partial<Record<Column, Cell>>;
  /** First call of the compiled function: trace + compile + one run, to completion. */
  firstCallMs?: number;
  checks: Partial<Record<Column, CheckSummary>>;
  /** What the tracer captured (mode, graphs, kernels, fallbacks), after the timed calls. */
  capture?: CaptureSummary;
  /** Floating-point operations of one call, where the workload states them. */
  flops?: number;
  /** Set when kiln is wrong or crashed on this row: the run fails. */
  failure?: string;
}

export interface RowContext {
  quick: boolean;
  policy: TimingPolicy;
  compiler: Compiler;
  rt: GpuRuntime | undefined;
  peers: TfPeers | undefined;
  /** Why peers are missing entirely (e.g. tfjs failed to import). */
  peersMissing?: string;
  /** Progress output (a line per row, built up as columns finish). */
  progress: (text: string) => void;
}

export const PEERS_OF: Record<Device, TfBackend[]> = { webgpu: ['tfjs-webgpu'], cpu: ['tfjs-cpu', 'tfjs-wasm'] };

export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
export const summary = (c: CheckResult): CheckSummary => ({
  ok: c.ok,
  mismatches: c.mismatches,
  maxAbsError: c.maxAbsError,
  tolerance: c.tolerance,
  worst: c.worst,
});
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export async function runRow(workload: Workload, device: Device, ctx: RowContext): Promise<RowResult> {
  const row: RowResult = {
    id: workload.id,
    title: workload.title,
    size: workload.size(ctx.quick),
    device,
    cells: {},
    checks: {},
    ...(workload.flops ? { flops: workload.flops(ctx.quick) } : {}),
  };
  const say = ctx.progress;
  say(`${workload.id} ${workload.title} ${row.size} on ${device}:`);

  let inst: Instance;
  let expected: Float32Array;
  let shape: readonly number[];
  try {
    inst = workload.make(device, ctx.quick);
    const ref = tidy(() => callModel(inst.model, inst.args));
    shape = ref.shape;
    expected = Float32Array.from(await ref.data());
    ref.dispose();
  } catch (error) {
    row.failure = `kiln eager crashed: ${message(error)}`;
    say(` FAILED (${row.failure})\n`);
    return row;
  }
  const tensors = [...inst.args, ...Object.values(parametersOf(inst.model))];

  // kiln compiled: first call (compile) and a warm call, both checked, then timed.
  const fast = ctx.compiler.compile(inst.model);
  let compiledOk = false;
  try {
    for (const call of ['first call', 'second call']) {
      const started = performance.now();
      const y = tidy(() => fast(...inst.args));
      await sync(y);
      if (call === 'first call') row.firstCallMs = performance.now() - started;
      const check = allClose(await y.data(), expected, shape, KILN_TOLERANCE);
      y.dispose();
      row.checks.compiled = summary(check);
      if (!check.ok) {
        row.failure = `kiln compiled differs from kiln eager on ${device} (${call}): ${describeCheck(check, expected.length)}`;
        break;
      }
    }
    compiledOk = row.failure === undefined;
  } catch (error) {
    row.failure = `kiln compiled crashed on ${device}: ${message(error)}`;
  }
  if (compiledOk) {
    const capture = captureSummary(fast);
    if (capture.fallbacks.length > 0) say(` compiled graph(s) ran op by op (${capture.fallbacks.join('; ')});`);
  }
  if (row.failure) {
    row.cells.compiled = { missing: row.failure };
    say(` COMPILED ${row.failure.startsWith('kiln compiled crashed') ? 'CRASHED' : 'IS WRONG'}`);
  }

  // The hand kernel (webgpu): checked like compiled, but a wrong one is a bug of this benchmark.
  let hand: HandKernel | undefined;
  if (device === 'webgpu' && ctx.rt) {
    const inputs = await Promise.all(inst.args.map(async (t) => ({ data: Float32Array.from(await t.data()), shape: t.shape })));
    hand = await handKernelFor(workload.id, ctx.rt, inputs);
    if (hand) {
      const check = allClose(await hand.result(), expected, shape, HAND_TOLERANCE[workload.id] ?? KILN_TOLERANCE);
      row.checks.hand = summary(check);
      if (!check.ok) throw new Error(`hand kernel for ${workload.id} is wrong: ${describeCheck(check, expected.length)}`);
    }
  }

  const columns: { key: 'eager' | 'compiled' | 'hand'; step: () => Promise<void> }[] = [
    { key: 'eager', step: step(() => callModel(inst.model, inst.args)) },
    ...(compiledOk ? [{ key: 'compiled' as const, step: step(() => fast(...inst.args)) }] : []),
    ...(hand ? [{ key: 'hand' as const, step: hand.step }] : []),
  ];
  const timed = await timeColumns(columns, ctx.policy);
  row.cells.eager = { timing: timed.eager };
  say(` eager ${fmt(timed.eager.medianMs)} ms`);
  if (compiledOk) {
    row.cells.compiled = { timing: timed.compiled };
    say(
      ` · compiled ${fmt(timed.compiled.medianMs)} ms (first call ${fmt(row.firstCallMs!)} ms, ${(timed.eager.medianMs / timed.compiled.medianMs).toFixed(2)}× eager)`,
    );
  }
  if (compiledOk) row.capture = captureSummary(fast);
  if (hand) {
    row.cells.hand = { timing: timed.hand, note: hand.variant };
    say(` · hand ${fmt(timed.hand.medianMs)} ms`);
    hand.dispose();
  }

  for (const backend of PEERS_OF[device]) {
    const peers = ctx.peers;
    if (!peers?.available.has(backend)) {
      row.cells[backend] = { missing: peers?.missing[backend] ?? ctx.peersMissing ?? 'not loaded' };
      continue;
    }
    const cell = await runPeer(workload, backend, peers, inst, expected, shape, ctx, row);
    row.cells[backend] = cell;
    const ms = cellMs(cell);
    say(` · ${backend} ${ms === undefined ? 'missing' : `${fmt(ms)} ms`}`);
  }
  for (const t of tensors) t.dispose();
  say('\n');
  return row;
}

async function runPeer(
  workload: Workload,
  backend: TfBackend,
  peers: TfPeers,
  inst: Instance,
  expected: Float32Array,
  shape: readonly number[],
  ctx: RowContext,
  row: RowResult,
): Promise<Cell> {
  const { tf } = peers;
  await peers.use(backend);
  const made: TfTensor[] = [];
  const toTf = async (t: Tensor) => {
    const x = tf.tensor(Float32Array.from(await t.data()), [...t.shape], 'float32');
    made.push(x);
    return x;
  };
  try {
    const args = await Promise.all(inst.args.map(toTf));
    const params = Object.fromEntries(
      await Promise.all(Object.entries(parametersOf(inst.model)).map(async ([k, t]) => [k, await toTf(t)] as const)),
    );
    const run = workload.tfjs(tf, args, params);
    const y = tf.tidy(run);
    const check = allClose(await y.data(), expected, shape, workload.tfjsTolerance);
    y.dispose();
    row.checks[backend] = summary(check);
    if (!check.ok) return { missing: `result differs from kiln eager: ${describeCheck(check, expected.length)}` };
    return { timing: (await timeColumns([{ key: backend, step: tfStep(tf, run) }], ctx.policy))[backend] };
  } catch (error) {
    return { missing: `tfjs failed: ${message(error).split('\n')[0]}` };
  } finally {
    tf.dispose(made);
  }
}

export function cellMs(cell: Cell | undefined): number | undefined {
  return cell && 'timing' in cell ? cell.timing.medianMs : undefined;
}
