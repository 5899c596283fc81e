/**
 * The backend interface: `(graph, exampleInputs) => (inputs) => outputs`.
 * A backend receives each captured graph once (per concrete shape, unless
 * it says it handles dynamic sizes) and returns the function the tracer
 * calls with the graph's inputs, in placeholder order.
 *
 * Dynamic sizes: a `TracedGraph` says which placeholder dims are dynamic
 * (`dynamicDims`). A backend function with `dynamic = true` promises that
 * what it returns runs the graph at any size of those dims, evaluating the
 * attributes and scalars a call node marks `symbolic` (sizes computed from
 * the dynamic ones: `attrsAt`, `argsAt`) at the sizes it runs with; such
 * a backend is asked once per graph. Any other backend is asked once per
 * concrete shape, lazily. The inductor takes the dynamic dims and reads
 * their sizes at run time, so one compile serves every size.
 */

import type { DynamicDims, InputDim, Tensor } from '@kiln/eager';
import { Graph, KilnError, runGraph, withMode } from '@kiln/eager';
import { log } from '@kiln/gpu-runtime';
import { type CompileMode, compileGraph, formatStages, NotCompiled } from '@kiln/inductor';

/** A captured graph and which placeholder dims are dynamic (by placeholder position). */
export class TracedGraph extends Graph {
  /** Placeholder index (position in `placeholders`) -> its dynamic dims. Absent: all sizes static. */
  readonly dynamicDims = new Map<number, readonly number[]>();
  /** Placeholders that stand for a dynamic JS number (their size is its value). */
  readonly numberInputs = new Set<number>();

  /** Each dynamic size's symbol and what it stands for: `s0 = x.shape[1] (7 here)` (one symbol per distinct size, as the inductor names them). */
  symbols(): string[] {
    return this.symbolTable().meaning;
  }

  /** The listing with dynamic sizes as symbols and what each stands for. */
  override toString(): string {
    if (this.dynamicDims.size === 0) return super.toString();
    const { name, meaning } = this.symbolTable();
    return `${super.toString(name)}\n  # dynamic sizes: ${meaning.join(', ')}`;
  }

  private symbolTable(): { name: (d: InputDim) => string; meaning: string[] } {
    const names = this.placeholders;
    const symbolOf = new Map<number, string>();
    const meaning: string[] = [];
    for (const [i, dims] of this.dynamicDims) {
      for (const d of dims) {
        const size = names[i]!.shape[d]!;
        if (!symbolOf.has(size)) {
          symbolOf.set(size, `s${symbolOf.size}`);
          // A JS number enters as an empty input whose size is the number.
          const what = this.numberInputs.has(i) ? names[i]!.name : `${names[i]!.name}.shape[${d}]`;
          meaning.push(`${symbolOf.get(size)} = ${what} (${size} here)`);
        }
      }
    }
    const name = (d: InputDim) => symbolOf.get(names[d.input]!.shape[d.dim]!) ?? `${names[d.input]!.name}.shape[${d.dim}]`;
    return { name, meaning };
  }
}

/** A compiled graph as the tracer calls it. */
export type CompiledFn = (inputs: readonly Tensor[]) => Tensor[];

/** `(graph, exampleInputs) => (inputs) => outputs`; `dynamic: true` if what it returns runs at any size of the graph's dynamic dims. */
export type Backend = ((graph: Graph, exampleInputs: readonly Tensor[]) => CompiledFn) & { dynamic?: boolean };

export type BackendOption = 'inductor' | 'eager' | Backend;

export interface KernelInfo {
  readonly name: string;
  readonly fusedOps: readonly string[];
  readonly source: string;
  /** The inductor's kernel kind; `'extern'`: the op's eager kernel, run between the fused ones. */
  readonly kind?: 'pointwise' | 'rows' | 'matmul' | 'extern';
  /** Ids of the graph nodes the kernel computes (for drawing the graph by kernel). */
  readonly graphNodes?: readonly number[];
  /** Set when the graph's target had another target build this kernel (the inductor's wasm target hands some to js): which, and why. */
  readonly fallback?: { readonly target: string; readonly reason: string };
  /** Under `mode: 'max-autotune'`: the tile and variant chosen (measured, or from the autotune cache), or that tuning is under way. */
  readonly autotune?: string;
}

/** A backend as the tracer uses it: compile, and what it reports. */
export interface ResolvedBackend {
  readonly name: string;
  readonly dynamic: boolean;
  compile(
    graph: TracedGraph,
    exampleInputs: readonly Tensor[],
  ): { run: CompiledFn; kernels: readonly KernelInfo[]; note?: string; decisions?: readonly string[]; stages?: string; target?: string };
}

/** The dynamic dims of a graph the tracer captured, in the form `runGraph` and the inductor take (a plain Graph has none). */
function dynamicDimsOf(graph: Graph): DynamicDims {
  return graph instanceof TracedGraph ? graph.placeholders.map((_, i) => graph.dynamicDims.get(i)) : [];
}

/** A captured graph run op by op through the eager kernels (`runGraph`), at any size of its dynamic dims. */
export function opByOp(graph: Graph): CompiledFn {
  const dynamicDims = dynamicDimsOf(graph);
  return (inputs) => runGraph(graph, inputs, { dynamicDims });
}

/** A testing backend that counts what it is given and runs each graph eagerly. */
export interface CompileCounter extends Backend {
  /** Graphs compiled. */
  frameCount: number;
  /** Op (call) nodes in those graphs. */
  opCount: number;
  /** The graphs, in order. */
  readonly graphs: Graph[];
  reset(): void;
}

function makeCompileCounter(): CompileCounter {
  const counter = Object.assign(
    (graph: Graph) => {
      counter.frameCount++;
      counter.opCount += graph.nodes.filter((n) => n.op === 'call').length;
      counter.graphs.push(graph);
      return opByOp(graph);
    },
    {
      dynamic: true,
      frameCount: 0,
      opCount: 0,
      graphs: [] as Graph[],
      reset() {
        counter.frameCount = 0;
        counter.opCount = 0;
        counter.graphs.length = 0;
      },
    },
  );
  return counter;
}

/** `new CompileCounter()` (or `CompileCounter()`): a counting backend, like Dynamo's testing.CompileCounter. */
export const CompileCounter = makeCompileCounter as unknown as { new (): CompileCounter; (): CompileCounter };

function inductor(mode: CompileMode): ResolvedBackend {
  return {
    name: 'inductor',
    // The inductor reads dynamic sizes at run time: one compile serves every size.
    dynamic: true,
    compile(graph) {
      try {
        const compiled = withMode(null, () => compileGraph(graph, { dynamicDims: dynamicDimsOf(graph), mode }));
        return {
          run: (inputs) => compiled.run(inputs),
          // The inductor's reports, whose `autotune` (a getter) changes when a tuning finishes.
          kernels: compiled.kernels,
          ...(compiled.note ? { note: compiled.note } : {}),
          target: compiled.target.name,
          decisions: compiled.schedule.decisions,
          ...(compiled.stages ? { stages: formatStages(compiled.stages, compiled.target.builds) } : {}),
        };
      } catch (error) {
        // A graph the inductor does not compile (it says so with NotCompiled) still runs, op by op; anything else is a bug and surfaces.
        if (!(error instanceof NotCompiled)) throw error;
        log('perf', `inductor does not compile a graph (${error.reason}); running it eagerly`);
        return { run: opByOp(graph), kernels: [], note: `not compiled, ran eagerly: ${error.reason}` };
      }
    },
  };
}

/** The backend of `option`; `mode` is the inductor's (other backends have nothing to tune). */
export function resolveBackend(option: BackendOption | undefined, mode: CompileMode = 'default'): ResolvedBackend {
  if (option === undefined || option === 'inductor') return inductor(mode);
  if (option === 'eager') return { name: 'eager', dynamic: true, compile: (graph) => ({ run: opByOp(graph), kernels: [] }) };
  if (typeof option !== 'function') {
    throw new KilnError(
      `backend must be 'inductor', 'eager' or a function (graph, exampleInputs) => (inputs) => outputs, got ${String(option)}`,
      { op: 'compile' },
    );
  }
  const backend = option;
  return {
    name: backend.name || 'custom',
    dynamic: backend.dynamic === true,
    compile(graph, exampleInputs) {
      const run = withMode(null, () => backend(graph, exampleInputs));
      if (typeof run !== 'function') {
        throw new KilnError(`the backend returned ${typeof run}, expected a function (inputs) => outputs`, { op: 'compile' });
      }
      return { run: (inputs) => withMode(null, () => run(inputs)), kernels: [] };
    },
  };
}
