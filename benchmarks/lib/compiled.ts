/**
 * Wraps a workload's model the way a user would: `compile(model)` from
 * @kiln/tracer (inductor backend, default options). The first call traces
 * and compiles; later calls hit the cache entry.
 */
import type { Tensor } from '@kiln/eager';
import { type CompiledExtras, compile } from '@kiln/tracer';
import type { Model } from '../workloads/workload';

export type CompiledModel = ((...args: Tensor[]) => Tensor) & CompiledExtras;

export interface Compiler {
  compile(model: Model): CompiledModel;
  /** What produced the compiled column, for the report. */
  via: string;
}

export const compiler: Compiler = {
  compile: (model) => (typeof model === 'function' ? compile(model) : compile(model)),
  via: "compile() from @kiln/tracer (backend 'inductor', default options)",
};

/** What the tracer captured, for the report: mode, graphs, breaks, kernels, and graphs that fell back to op-by-op. */
export interface CaptureSummary {
  mode: string;
  modeReason: string;
  graphs: number;
  graphBreaks: number;
  ops: number;
  kernels: number;
  kernelNames: string[];
  compileMs: number;
  cacheHits: number;
  recompiles: number;
  /** Notes of graphs the backend could not compile (they ran op by op). */
  fallbacks: string[];
}

export function captureSummary(fast: CompiledModel): CaptureSummary {
  const r = fast.explain();
  const kernels = r.graphs.flatMap((g) => g.kernels);
  return {
    mode: r.mode,
    modeReason: r.modeReason,
    graphs: r.graphCount,
    graphBreaks: r.graphBreakCount,
    ops: r.opCount,
    kernels: kernels.length,
    kernelNames: kernels.map((k) => k.name),
    compileMs: Math.round(r.compileMs * 10) / 10,
    cacheHits: fast.stats.cacheHits,
    recompiles: fast.stats.recompiles.length,
    fallbacks: r.graphs.flatMap((g) => (g.note ? [g.note] : [])),
  };
}
