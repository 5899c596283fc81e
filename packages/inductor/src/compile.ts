/**
 * The inductor's entry: graph -> lowered IR -> schedule -> kernels built by
 * the target of the graph's device -> a CompiledGraph (what the tracer's
 * 'inductor' backend calls).
 */

import { type DynamicDims, type Graph, KilnError } from '@kiln/eager';
import { log } from '@kiln/gpu-runtime';
import { NotCompiled } from './errors';
import { CHECK_MARKERS } from './ir/size';
import { lowerGraph } from './lower-graph';
import { CompiledGraph } from './runtime/compiled-graph';
import { type Schedule, schedule } from './schedule';
import { renderJs } from './targets/js/render-js';
import { targetFor } from './targets/registry';
import type { CompileMode } from './targets/target';

export interface InductorOptions {
  /** Dims of each graph input whose size may change between calls (taken as metadata, not baked in). */
  dynamicDims?: DynamicDims;
  /** Row kernels: one thread per row, one workgroup per row, or chosen by row count and length. */
  rowStrategy?: 'thread' | 'workgroup' | 'auto';
  /** Expression size above which a value read by several consumers gets its own buffer. */
  inlineBudget?: number;
  /** 'max-autotune': each matmul kernel benchmarks its tile choices on the device (./targets/webgpu/autotune). */
  mode?: CompileMode;
}

const MODES: readonly CompileMode[] = ['default', 'max-autotune'];

/** `value` as a compile mode; anything else is a KilnError naming the accepted values. */
export function compileMode(value: unknown): CompileMode {
  if (value === undefined) return 'default';
  if (MODES.includes(value as CompileMode)) return value as CompileMode;
  const shown = typeof value === 'string' ? `'${value}'` : String(value);
  throw new KilnError(`mode must be ${MODES.map((m) => `'${m}'`).join(' or ')}, got ${shown}`, { op: 'compile' });
}

/** Where a compile's time went, in ms: what explain and KILN_LOGS=perf report per graph. */
export interface CompileStages {
  /** Graph -> loop-level IR. */
  lower: number;
  /** Fusion and buffer decisions (and, with dynamic sizes, the check that they are symbolic). */
  schedule: number;
  /** Kernel source text (WGSL or JS). */
  render: number;
  /** What the target builds from the text: pipelines (webgpu), functions (cpu). */
  build: number;
}

/**
 * Compiles `graph` for the device of its inputs. The kernels assume
 * contiguous inputs; a call with another layout copies that input first.
 * Sizes are baked into the kernels except `dynamicDims`, which the kernels
 * read at run time. For webgpu the device must be initialized
 * (`await initWebGpu()`).
 */
export function compileGraph(graph: Graph, options: InductorOptions = {}): CompiledGraph {
  const started = performance.now();
  const placeholders = graph.placeholders;
  const devices = new Set([...placeholders.map((p) => p.device), ...graph.outputs.map((o) => o.device)]);
  if (devices.size > 1) {
    throw new NotCompiled(`a compiled graph runs on one device, this one mixes ${[...devices].join(' and ')}`);
  }
  const target = targetFor([...devices][0] ?? 'cpu');
  const scheduleOptions = {
    inlineBudget: options.inlineBudget ?? 40,
    maxBuffers: target.maxKernelBuffers,
    onlineSoftmax: target.onlineSoftmax,
  };
  const lowered = lowerGraph(graph, options.dynamicDims);
  const lowerMs = performance.now() - started;
  const sched = schedule(lowered.nodes, lowered.outputs, scheduleOptions);
  if (lowered.symbols.length > 0) {
    // The same graph traced at other marker sizes must give the same kernels: else some value depends on a
    // dynamic size in a way the IR's sizes do not track (1 / sqrt(d), n - 1), and would be baked in.
    const other = lowerGraph(graph, options.dynamicDims, CHECK_MARKERS);
    const [mine, theirs] = [sched, schedule(other.nodes, other.outputs, scheduleOptions)].map((x) =>
      kernelTexts(x, lowered.symbols.length),
    );
    const i = mine!.findIndex((text, k) => text !== theirs![k]);
    if (i >= 0 || mine!.length !== theirs!.length) {
      const kernel = sched.kernels[Math.max(i, 0)]?.kernel.name ?? '';
      throw new NotCompiled(`a value computed from a dynamic size is not symbolic (it would be baked into ${kernel})`);
    }
  }
  for (const d of sched.decisions) log('fusion', d);
  const scheduled = performance.now();
  const compiled = new CompiledGraph(target, sched, lowered, options.rowStrategy ?? 'auto', compileMode(options.mode));
  const stages: CompileStages = {
    lower: lowerMs,
    schedule: scheduled - started - lowerMs,
    render: performance.now() - scheduled - compiled.buildMs,
    build: compiled.buildMs,
  };
  compiled.stages = stages;
  for (const k of compiled.kernels) log('output_code', () => `${k.name} (${k.kind}: ${k.fusedOps.join(', ')})\n${k.source}`);
  log(
    'perf',
    () =>
      `inductor: ${graph.nodes.length} nodes -> ${compiled.kernels.length} kernels for ${target.name} in ${(performance.now() - started).toFixed(1)} ms (${formatStages(stages, target.builds)})`,
  );
  return compiled;
}

/** 'lower 1.2 ms, schedule 3.4 ms, ...', the stage `build` named by what the target builds (`builds`: pipelines, functions). */
export function formatStages(s: CompileStages, builds: string): string {
  return `lower ${s.lower.toFixed(1)} ms, schedule ${s.schedule.toFixed(1)} ms, render ${s.render.toFixed(1)} ms, ${builds} ${s.build.toFixed(1)} ms`;
}

/**
 * Each kernel as text: the JS rendering (sizes as symbols, constants as
 * written; the one renderer that needs no device, whatever the target), or
 * an extern op and its attributes.
 */
function kernelTexts(s: Schedule, symCount: number): string[] {
  return s.kernels.map(({ kernel: k }) => (k.kind === 'extern' ? `extern ${k.op} ${JSON.stringify(k.attrs)}` : renderJs(k, symCount)));
}
