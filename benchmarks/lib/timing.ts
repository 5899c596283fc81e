/** Timing policy for the A/B table: tinybench via `measure`, iterations sized to a time budget, in rounds. */
import { measure, type Timing } from './measure';

export interface TimingPolicy {
  /** Wall time to aim for per column (all rounds together), in ms. */
  budgetMs: number;
  minIterations: number;
  maxIterations: number;
  /** Columns are timed in this many rounds (A B A B ...), samples pooled: slow drift of a shared machine hits every column alike. */
  rounds: number;
}

export const FULL: TimingPolicy = { budgetMs: 1500, minIterations: 6, maxIterations: 60, rounds: 2 };
export const QUICK: TimingPolicy = { budgetMs: 300, minIterations: 3, maxIterations: 15, rounds: 1 };

/** Calls slower than this get the fewest timed iterations (3 in all). */
const SLOW_CALL_MS = 1000;

/**
 * Warms `fn` up until its call time settles; returns a typical call time.
 *
 * Why not a fixed warm-up: kiln's readback waiter sleeps before mapping for
 * most of the shortest recent time of "the same kind" of readback (same
 * pending dispatch count and byte count). One-element syncs of different
 * single-kernel computations share that kind, so a fast kernel timed after a
 * slow one first oversleeps, the sleep shrinking 0.8x per call. Warming
 * until no new minimum appears measures each column's steady state, not the
 * history of the column before it.
 */
async function settle(fn: () => Promise<void>, budgetMs: number): Promise<number> {
  const times: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let sinceBest = 0;
  let spent = 0;
  while (times.length < 100 && spent < 4 * budgetMs + 2 * best) {
    const started = performance.now();
    await fn();
    const t = performance.now() - started;
    times.push(t);
    spent += t;
    sinceBest = t < 0.9 * best ? 0 : sinceBest + 1;
    best = Math.min(best, t);
    if (sinceBest >= 2 || t > SLOW_CALL_MS) break; // one warm call is enough where the call itself dominates
  }
  const recent = times.slice(-3).sort((a, b) => a - b);
  return Math.max(recent[Math.floor(recent.length / 2)]!, 0.01);
}

function pooled(parts: readonly Timing[]): Timing {
  const samplesMs = parts.flatMap((p) => p.samplesMs);
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const medianMs = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs, minMs: sorted[0]!, maxMs: sorted[sorted.length - 1]!, samples: sorted.length, samplesMs };
}

/**
 * Times each column (a step: compute, force completion, free) with tinybench.
 * With several rounds the columns take turns (A B A B), each turn warmed up
 * again, and the samples of all turns are pooled into one median.
 */
export async function timeColumns<K extends string>(
  columns: readonly { key: K; step: () => Promise<void> }[],
  policy: TimingPolicy,
): Promise<Record<K, Timing>> {
  const parts = new Map<K, Timing[]>(columns.map((c) => [c.key, []]));
  const perRound = policy.budgetMs / policy.rounds;
  for (let round = 0; round < policy.rounds; round++) {
    for (const { key, step } of columns) {
      const once = await settle(step, perRound);
      const min = once > SLOW_CALL_MS ? Math.ceil(3 / policy.rounds) : Math.ceil(policy.minIterations / policy.rounds);
      const iterations = Math.min(Math.ceil(policy.maxIterations / policy.rounds), Math.max(min, Math.ceil(perRound / once)));
      parts.get(key)!.push(await measure(key, step, { iterations, warmupIterations: 0, timeMs: 1 }));
    }
  }
  return Object.fromEntries([...parts].map(([k, p]) => [k, pooled(p)])) as Record<K, Timing>;
}
