/**
 * The cache of a compiled function: entries checked in order, each with
 * its guards and what a cache hit does — replay a plan without running the
 * JavaScript, re-run it with lazy tensors, or (past the recompile limit)
 * run it eagerly — and the compiled graphs, found by structure (see
 * ./segment) and shared by the entries. Every part is bounded.
 */
import { LruCache } from '@kiln/eager';
import { log } from '@kiln/gpu-runtime';
import type { CompiledFn, KernelInfo, ResolvedBackend, TracedGraph } from './backend';
import { opByOp } from './backend';
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

  /**
   * The compiled graph for `plan`, compiling it (with the graph `build`
   * gives) when its structure is new — unless `admit` refuses that graph
   * (the recompile limit): then it runs op by op, and is not kept.
   */
  lookup(
    plan: SegmentPlan,
    build: () => TracedGraph,
    admit: (graph: TracedGraph) => boolean,
  ): { segment: CompiledSegment; fresh: boolean } {
    const key = this.backend.dynamic || plan.sizes === '' ? plan.key : `${plan.key} # ${plan.sizes}`;
    const hit = this.segments.get(key);
    if (hit) return { segment: hit, fresh: false };
    const graph = build();
    const ops = graph.nodes.flatMap((n) => (n.op === 'call' ? [n.target] : []));
    if (!admit(graph)) {
      const note = 'not compiled (the recompile limit): ran op by op';
      return { segment: { graph, run: opByOp(graph), kernels: [], compileMs: 0, ops, note }, fresh: false };
    }
    const started = performance.now();
    const compiled = this.backend.compile(graph, plan.leaves);
    const segment: CompiledSegment = {
      graph,
      run: compiled.run,
      kernels: compiled.kernels,
      compileMs: performance.now() - started,
      ops,
      ...(compiled.note ? { note: compiled.note } : {}),
    };
    this.segments.set(key, segment);
    log('perf', `${this.backend.name}: compiled a graph of ${segment.ops.length} ops in ${segment.compileMs.toFixed(1)} ms`);
    this.onCompile(segment);
    return { segment, fresh: true };
  }
}

/** What a cache hit does: run the graph without the JavaScript, run the JavaScript with lazy tensors, or (past the recompile limit) run `fn` eagerly. */
export type EntryMode = 'replay' | 're-run' | 'eager';

/** Replay plans kept per entry (one per distinct size of its dynamic dims). */
const MAX_PLANS = 64;

export class Entry {
  mode: EntryMode = 're-run';
  /** Why the entry re-runs the JavaScript or runs eagerly (empty for replay). */
  modeReasons: string[] = [];
  /** Replay plans by the sizes of the dynamic dims; null: calls with those sizes re-run. */
  readonly plans = new LruCache<string, ReplayPlan | null>(MAX_PLANS);
  /** Base keys of the graphs its calls ran: a re-running call that runs any other structure recompiles. */
  readonly structures = new Set<string>();
  /** Graph structures compiled for it: its first call's, then one per call whose structure was new (at most cacheSizeLimit). */
  variants = 1;
  /** The graphs its last call ran, in order (what a change is described against). */
  lastGraphs: readonly TracedGraph[] = [];

  constructor(
    /** Replaced, without the closure's guards, when an entry traced with a closure (see ./closure) turns out to re-run. */
    public spec: InputSpec,
    readonly graphs: GraphCache,
  ) {}

  get guards(): GuardSet {
    return this.spec.guards;
  }
}
