/**
 * The cache entries of a compiled function, checked in order: each holds
 * its guards and what a cache hit does — replay a plan without running the
 * JavaScript, re-run it with lazy tensors, or (past the recompile limit)
 * run it eagerly. Every part is bounded.
 */
import { LruCache } from '@kiln/eager';
import type { TracedGraph } from '../backend';
import type { GraphCache } from '../capture/graph-cache';
import type { GuardSet, InputSpec } from '../guards/guards';
import type { ReplayPlan } from './replay';

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
    /** Replaced, without the closure's guards, when an entry traced with a closure (see ../guards/closure) turns out to re-run. */
    public spec: InputSpec,
    readonly graphs: GraphCache,
  ) {}

  get guards(): GuardSet {
    return this.spec.guards;
  }
}
