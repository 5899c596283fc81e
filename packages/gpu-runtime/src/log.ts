/**
 * KILN_LOGS: readable event lines, one per event, as they happen.
 * `KILN_LOGS=graph_breaks,recompiles,guards,graph,output_code,fusion,perf,webgpu`
 * (or `all`) chooses the topics; the variable is read at each call so tests
 * and tools can switch topics on and off. `webgpu` prints every error the
 * WebGPU implementation reports, in its own words (kiln raises each as a
 * KilnError, and keeps it off stdout, where Dawn would print it).
 */
export type LogTopic = 'graph_breaks' | 'recompiles' | 'guards' | 'graph' | 'output_code' | 'fusion' | 'perf' | 'webgpu';

function topics(): Set<string> {
  const env = typeof process === 'undefined' ? undefined : process.env.KILN_LOGS;
  return new Set(
    (env ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
}

export function logEnabled(topic: LogTopic): boolean {
  const t = topics();
  return t.has(topic) || t.has('all');
}

/** Prints `[kiln:topic] message` to stderr when the topic is on; `message` may be lazy. */
export function log(topic: LogTopic, message: string | (() => string)): void {
  if (!logEnabled(topic)) return;
  console.error(`[kiln:${topic}] ${typeof message === 'function' ? message() : message}`);
}
