/**
 * The cache of a compiled function: entries checked in order, each with
 * its guards and what a cache hit does — replay a plan without running the
 * JavaScript, or re-run it with lazy tensors — and the compiled graphs,
 * found by structure (see ./segment) and shared by the entries.
 */
import { LruCache } from '@kiln/eager';
import { log } from '@kiln/gpu-runtime';
import type { CompiledFn, KernelInfo, ResolvedBackend, TracedGraph } from './backend';
import type { GuardSet, InputSpec } from './guards';
import type { ReplayPlan } from './replay';
import type { SegmentPlan } from './segment';

export interface CompiledSegment {
  /** The graph as first compiled (at the sizes it was first seen with, when the backend handles any size). */
  readonly graph: TracedGraph;
  readonly run: CompiledFn;
  readonly kernels: readonly KernelInfo[];
  readonly compileMs: number;
  /** The graph's op names, in order. */
  readonly ops: readonly string[];
  /** Set when the backend could not compile the graph and it runs eagerly instead. */
  readonly note?: string;
}

/** Compiled graphs kept per structure key (a static backend also keys by the sizes of dynamic dims), least recently used dropped first. */
const MAX_GRAPHS = 256;

export class GraphCache {
  private readonly segments = new LruCache<string, CompiledSegment>(MAX_GRAPHS);
  /** Base key -> slots of intermediates a later graph computed again (see planSegment). */
  private readonly wantedSlots = new LruCache<string, Set<number>>(MAX_GRAPHS);

  constructor(
    readonly backend: ResolvedBackend,
    private readonly onCompile: (s: CompiledSegment) => void,
  ) {}

  wanted(baseKey: string): ReadonlySet<number> | undefined {
    return this.wantedSlots.get(baseKey);
  }

  recomputed(baseKey: string, slot: number): void {
    let slots = this.wantedSlots.get(baseKey);
    if (!slots) this.wantedSlots.set(baseKey, (slots = new Set()));
    slots.add(slot);
  }

  /** The compiled graph for `plan`, compiling it (with the graph `build` gives) when its structure is new. */
  lookup(plan: SegmentPlan, build: () => TracedGraph): { segment: CompiledSegment; fresh: boolean } {
    const key = this.backend.dynamic || plan.sizes === '' ? plan.key : `${plan.key} # ${plan.sizes}`;
    const hit = this.segments.get(key);
    if (hit) return { segment: hit, fresh: false };
    const graph = build();
    const started = performance.now();
    const compiled = this.backend.compile(graph, plan.leaves);
    const segment: CompiledSegment = {
      graph, run: compiled.run, kernels: compiled.kernels, compileMs: performance.now() - started,
      ops: graph.nodes.flatMap((n) => (n.op === 'call' ? [n.target] : [])), ...(compiled.note ? { note: compiled.note } : {}),
    };
    this.segments.set(key, segment);
    log('perf', `${this.backend.name}: compiled a graph of ${segment.ops.length} ops in ${segment.compileMs.toFixed(1)} ms`);
    this.onCompile(segment);
    return { segment, fresh: true };
  }
}

export type EntryMode = 'replay' | 're-run';

/** Replay plans kept per entry (one per distinct size of its dynamic dims). */
const MAX_PLANS = 64;

export class Entry {
  mode: EntryMode = 're-run';
  /** Why the entry re-runs the JavaScript (empty for replay). */
  readonly modeReasons: string[] = [];
  /** Replay plans by the sizes of the dynamic dims; null: calls with those sizes re-run. */
  readonly plans = new LruCache<string, ReplayPlan | null>(MAX_PLANS);

  constructor(
    /** Replaced, without the closure's guards, when an entry traced with a closure (see ./closure) turns out to re-run. */
    public spec: InputSpec,
    readonly graphs: GraphCache,
  ) {}

  get guards(): GuardSet {
    return this.spec.guards;
  }
}
