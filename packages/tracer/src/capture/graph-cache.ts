/**
 * The compiled graphs of a compiled function, found by the structure key of
 * the segment that needs them (see ./segment) and shared by its cache
 * entries, so that re-running the JavaScript compiles nothing new while the
 * structure repeats. Bounded: least recently used graphs are dropped first.
 */
import { LruCache } from '@kiln/eager';
import { log } from '@kiln/gpu-runtime';
import type { CompiledFn, KernelInfo, ResolvedBackend, TracedGraph } from '../backend';
import { opByOp, resolveBackend } from '../backend';
import type { TrainingGraphs } from '../training/compile-training';
import { compileTraining } from '../training/compile-training';
import type { GradFlags } from '../training/joint';
import type { SegmentPlan } from './segment';
import type { SizeObservation } from './symbolic-sizes';

export interface CompiledSegment {
  /** The graph as first compiled (at the sizes it was first seen with, when the backend handles any size). */
  readonly graph: TracedGraph;
  readonly run: CompiledFn;
  readonly kernels: readonly KernelInfo[];
  /** Time from the start of the call (or the end of the graph before) until the graph was built: running the JavaScript, recording, planning. */
  readonly traceMs: number;
  readonly compileMs: number;
  /** The graph's op names, in order. */
  readonly ops: readonly string[];
  /** Set when the backend could not compile the graph and it runs eagerly instead. */
  readonly note?: string;
  /** The inductor's fusion decisions, made and given up, with why. */
  readonly decisions?: readonly string[];
  /** Where the inductor's compile time went ('lower 1.0 ms, schedule 2.1 ms, render ..., pipelines ...'). */
  readonly stages?: string;
  /** Where the backend runs the graph's kernels (the inductor's target: 'wasm', 'js', 'webgpu'). */
  readonly target?: string;
  /** Compiled for training (results that require grad): `run` is its forward, which also returns what it saves for its backward. */
  readonly training?: TrainingGraphs;
}

/** A graph whose results require grad: its gradient flags, and their text (part of the cache key). */
export interface TrainingSpec {
  readonly key: string;
  readonly flags: GradFlags;
}

/** Compiled graphs kept per structure key (a static backend also keys by the sizes of dynamic dims), least recently used dropped first. */
const MAX_GRAPHS = 256;

export class GraphCache {
  private readonly segments = new LruCache<string, CompiledSegment>(MAX_GRAPHS);
  /** Base key -> slots of intermediates a later graph computed again (see planSegment). */
  private readonly wantedSlots = new LruCache<string, Set<number>>(MAX_GRAPHS);
  /** Structure without sizes -> the sizes and size values it last ran with (see ./symbolic-sizes). */
  private readonly sizeHistory = new LruCache<string, SizeObservation[]>(MAX_GRAPHS);

  constructor(
    readonly backend: ResolvedBackend,
    private readonly onCompile: (s: CompiledSegment) => void,
  ) {}

  /** What later graphs needed of graph `baseKey`; undefined the first time it is asked (it is known from then on). */
  wanted(baseKey: string): ReadonlySet<number> | undefined {
    const known = this.wantedSlots.get(baseKey);
    if (!known) this.wantedSlots.set(baseKey, new Set());
    return known;
  }

  /** Earlier sizes of the structure `template` (at most two distinct ones, newest first): what symbolic sizes are fitted to. */
  observations(template: string): readonly SizeObservation[] {
    return this.sizeHistory.get(template) ?? [];
  }

  observe(template: string, o: SizeObservation): void {
    const known = this.sizeHistory.get(template) ?? [];
    const same = (a: SizeObservation) =>
      a.shapes.every((s, i) => s.join() === o.shapes[i]!.join()) && Object.entries(a.numbers).every(([k, v]) => o.numbers[k] === v);
    if (known[0] && same(known[0])) return;
    this.sizeHistory.set(template, [o, ...known.filter((k) => !same(k))].slice(0, 2));
  }

  recomputed(baseKey: string, slot: number): void {
    let slots = this.wantedSlots.get(baseKey);
    if (!slots) this.wantedSlots.set(baseKey, (slots = new Set()));
    slots.add(slot);
  }

  /**
   * The compiled graph for `plan`, compiling it (with the graph `build`
   * gives) when its structure is new — unless `admit` refuses that graph
   * (the recompile limit): then it runs op by op, and is not kept.
   * `tracedSince`: when tracing of this graph began (performance.now()).
   */
  lookup(
    plan: SegmentPlan,
    build: () => TracedGraph,
    admit: (graph: TracedGraph) => boolean,
    tracedSince: number,
    training?: TrainingSpec,
  ): { segment: CompiledSegment; fresh: boolean } {
    // A graph compiled for training is compiled per size (its backward's inputs are sized by the forward's).
    const key = training
      ? `${plan.key} | grad ${training.key} # ${plan.sizes}`
      : this.backend.dynamic || plan.sizes === ''
        ? plan.key
        : `${plan.key} # ${plan.sizes}`;
    const hit = this.segments.get(key);
    if (hit) return { segment: hit, fresh: false };
    const graph = build();
    const traceMs = performance.now() - tracedSince;
    if (training) graph.dynamicDims.clear();
    const ops = graph.nodes.flatMap((n) => (n.op === 'call' ? [n.target] : []));
    if (!admit(graph)) {
      const note = 'not compiled (the recompile limit): ran op by op';
      if (training) {
        const t = compileTraining(resolveBackend('eager'), graph, training.flags, plan.leaves);
        return { segment: { graph, run: t.forward.run, kernels: [], traceMs, compileMs: 0, ops, note, training: t }, fresh: false };
      }
      return { segment: { graph, run: opByOp(graph), kernels: [], traceMs, compileMs: 0, ops, note }, fresh: false };
    }
    const started = performance.now();
    if (training) {
      const t = compileTraining(this.backend, graph, training.flags, plan.leaves);
      const segment: CompiledSegment = {
        graph,
        run: t.forward.run,
        kernels: t.forward.kernels,
        traceMs,
        compileMs: performance.now() - started,
        ops,
        ...(t.forward.note ? { note: t.forward.note } : {}),
        ...(t.forward.decisions ? { decisions: t.forward.decisions } : {}),
        ...(t.forward.target ? { target: t.forward.target } : {}),
        training: t,
      };
      return this.keep(key, segment);
    }
    const compiled = this.backend.compile(graph, plan.leaves);
    const segment: CompiledSegment = {
      graph,
      run: compiled.run,
      kernels: compiled.kernels,
      traceMs,
      compileMs: performance.now() - started,
      ops,
      ...(compiled.note ? { note: compiled.note } : {}),
      ...(compiled.decisions ? { decisions: compiled.decisions } : {}),
      ...(compiled.stages ? { stages: compiled.stages } : {}),
      ...(compiled.target ? { target: compiled.target } : {}),
    };
    return this.keep(key, segment);
  }

  private keep(key: string, segment: CompiledSegment): { segment: CompiledSegment; fresh: boolean } {
    this.segments.set(key, segment);
    const what = segment.training ? ' for training (forward and backward)' : '';
    log(
      'perf',
      `${this.backend.name}: traced a graph of ${segment.ops.length} ops in ${segment.traceMs.toFixed(1)} ms, compiled it${what} in ${segment.compileMs.toFixed(1)} ms${segment.stages ? ` (${segment.stages})` : ''}`,
    );
    this.onCompile(segment);
    return { segment, fresh: true };
  }
}
