/**
 * One row of the A/B table: one workload on one device. Every column runs
 * in this process on the same device, each timed call forcing completion by
 * reading one element back; every result is checked against kiln eager on
 * the same device before it is timed.
 */
import { type Device, tidy } from '@kiln/eager';
import type { GpuRuntime } from '@kiln/gpu-runtime';
import { HAND_TOLERANCE, type HandKernel, handKernelFor } from '../hand-kernels';
import { callModel, type Instance, parametersOf, type Tolerance, type Workload } from '../workloads/workload';
import { allClose, type CheckResult, describeCheck } from './check';
import { type CaptureSummary, type Compiler, captureSummary } from './compiled';
import type { Timing } from './measure';
import { hostTensor, PEERS_OF, type Peer, type PeerCall, type PeerColumn, type PeerInputs, type Peers, reason } from './peer';
import { step, sync } from './sync';
import { type TimingPolicy, timeColumns } from './timing';

/** Kiln's own tolerance for compiled against eager (docs/ARCHITECTURE.md, "The correctness rule"). */
export const KILN_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

export type Column = 'eager' | 'compiled' | 'hand' | PeerColumn;

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
  peers: Peers;
  /** Progress output (a line per row, built up as columns finish). */
  progress: (text: string) => void;
}

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
  // The inputs' values, copied out once: what the hand kernel and the peers start from.
  const inputs: PeerInputs = {
    args: await Promise.all(inst.args.map(hostTensor)),
    params: Object.fromEntries(
      await Promise.all(Object.entries(parametersOf(inst.model)).map(async ([k, t]) => [k, await hostTensor(t)] as const)),
    ),
  };

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
    hand = await handKernelFor(workload.id, ctx.rt, inputs.args);
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

  for (const column of PEERS_OF[device]) {
    const peer = ctx.peers.columns[column] ?? { missing: 'not loaded' };
    const cell = 'missing' in peer ? peer : await runPeer(workload, peer, inputs, expected, shape, ctx, row);
    row.cells[column] = cell;
    const ms = cellMs(cell);
    if (!('missing' in peer)) say(` · ${column} ${ms === undefined ? 'missing' : `${fmt(ms)} ms`}`);
  }
  for (const t of tensors) t.dispose();
  say('\n');
  return row;
}

/** A peer column: the workload built from kiln's inputs, its result checked against kiln eager with the workload's tolerance for the peer, then timed. */
async function runPeer(
  workload: Workload,
  peer: Peer,
  inputs: PeerInputs,
  expected: Float32Array,
  shape: readonly number[],
  ctx: RowContext,
  row: RowResult,
): Promise<Cell> {
  let call: PeerCall | undefined;
  try {
    call = await peer.prepare(workload, inputs);
    const check = allClose(await call.result(), expected, shape, peer.tolerance(workload));
    row.checks[peer.column] = summary(check);
    if (!check.ok) return { missing: `result differs from kiln eager: ${describeCheck(check, expected.length)}` };
    return { timing: (await timeColumns([{ key: peer.column, step: call.step }], ctx.policy))[peer.column] };
  } catch (error) {
    return { missing: `${peer.library} failed: ${reason(error)}` };
  } finally {
    call?.dispose();
  }
}

export function cellMs(cell: Cell | undefined): number | undefined {
  return cell && 'timing' in cell ? cell.timing.medianMs : undefined;
}
