import { KilnError } from '@kiln/gpu-runtime';
import { Bench } from 'tinybench';

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
  /** Every timed sample, in order (ms). */
  samplesMs: number[];
}

export interface MeasureOptions {
  /** Time budget per task in ms (tinybench keeps sampling until both limits are met). */
  timeMs?: number;
  iterations?: number;
  warmupIterations?: number;
}

/** Median, min and max latency of `fn` from tinybench (each call awaited). */
export async function measure(name: string, fn: () => unknown, options: MeasureOptions = {}): Promise<Timing> {
  const bench = new Bench({
    time: options.timeMs ?? 500,
    iterations: options.iterations ?? 10,
    warmup: (options.warmupIterations ?? 3) > 0,
    warmupIterations: options.warmupIterations ?? 3,
    warmupTime: 50,
    retainSamples: true,
  });
  bench.add(name, async () => {
    await fn();
  });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new KilnError(`benchmark '${name}' did not complete (${result.state})`);
  const { latency } = result;
  return {
    medianMs: latency.p50,
    minMs: latency.min,
    maxMs: latency.max,
    samples: latency.samplesCount,
    samplesMs: [...(latency.samples ?? [])],
  };
}
