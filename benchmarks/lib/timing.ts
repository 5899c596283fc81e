/** Timing policy for the A/B table: tinybench via `measure`, with the iteration count sized to a time budget. */
import { measure, type Timing } from './measure';

export interface TimingPolicy {
  /** Wall time to aim for per column, in ms. */
  budgetMs: number;
  minIterations: number;
  maxIterations: number;
}

export const FULL: TimingPolicy = { budgetMs: 1500, minIterations: 5, maxIterations: 50 };
export const QUICK: TimingPolicy = { budgetMs: 300, minIterations: 3, maxIterations: 15 };

/**
 * One untimed call (warm-up; its duration sizes the run), then tinybench with
 * one more warm-up and enough iterations to fill the budget: a 1 ms call gets
 * many samples, a 5 s call the minimum.
 */
export async function timeSteps(name: string, fn: () => Promise<void>, policy: TimingPolicy): Promise<Timing> {
  const started = performance.now();
  await fn();
  const once = Math.max(performance.now() - started, 0.01);
  const iterations = Math.min(policy.maxIterations, Math.max(policy.minIterations, Math.ceil(policy.budgetMs / once)));
  return measure(name, fn, { iterations, warmupIterations: once > policy.budgetMs / 2 ? 0 : 1, timeMs: 1 });
}
