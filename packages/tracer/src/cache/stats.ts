/**
 * What a compiled function counts (`fast.stats`): calls, cache hits, the
 * recompiles with the guard that failed, entries, graphs compiled, breaks,
 * and the calls that ran eagerly past the limits.
 */
import type { GuardFailure } from '../guards/guards';

/** The first guard of one cache entry that failed for a call. */
export interface EntryFailure {
  /** The entry, 1-based, in the order entries are checked. */
  readonly entry: number;
  readonly guard: string;
  readonly expected: string;
  readonly actual: string;
}

export interface Recompile {
  /**
   * For each cache entry, the guard that failed for it, with its expected
   * and actual values: `x.shape[0] == 8 failed: expected 8, got 16` (one
   * entry, or every entry failing that way); `entry 1: x is contiguous
   * failed: ...; entries 2, 3: ...` (entries that failed differently).
   */
  readonly reason: string;
  /** The guard, expected and actual value of the entry that came closest (the fewest failed guards; the newest of equals). */
  readonly guard: string;
  readonly expected: string;
  readonly actual: string;
  /** Each entry's first failed guard, in entry order (for a graph that changed while re-running, that entry's change). */
  readonly entries: readonly EntryFailure[];
  /** The call (1-based) that recompiled. */
  readonly call: number;
}

export interface CompileStats {
  calls: number;
  /** Calls served by an existing cache entry. */
  cacheHits: number;
  readonly recompiles: Recompile[];
  /** Cache entries. */
  entries: number;
  /** Graphs the backend was asked to compile. */
  graphsCompiled: number;
  /** Graph breaks over all calls. */
  graphBreaks: number;
  /** Calls run eagerly past cacheSizeLimit: they matched no entry and the cache was full, or their entry's graph kept changing. */
  eagerCalls: number;
}

/** All counts zero. */
export function freshStats(): CompileStats {
  return { calls: 0, cacheHits: 0, recompiles: [], entries: 0, graphsCompiled: 0, graphBreaks: 0, eagerCalls: 0 };
}

/** The recompile of call number `call`: `failures` holds, for each cache entry in order, the guards that failed for it. */
export function recompileOf(failures: readonly (readonly GuardFailure[])[], call: number): Recompile {
  const entries: EntryFailure[] = [];
  let closest = -1;
  failures.forEach((fs, i) => {
    const f = fs[0];
    if (!f) return;
    entries.push({ entry: i + 1, guard: f.guard.text, expected: f.guard.expected, actual: f.actual });
    if (closest < 0 || fs.length <= failures[closest]!.length) closest = i;
  });
  if (entries.length === 0)
    return {
      reason: 'no guard failed (a guard depends on something that changed while checking)',
      guard: '',
      expected: '',
      actual: '',
      entries,
      call,
    };
  const text = (e: EntryFailure) => `${e.guard} failed: expected ${e.expected}, got ${e.actual}`;
  const best = entries.find((e) => e.entry === closest + 1)!;
  // Entries that failed the same way are named together; when all did, the failure alone says it.
  const groups = new Map<string, number[]>();
  for (const e of entries) {
    const t = text(e);
    const group = groups.get(t);
    if (group) group.push(e.entry);
    else groups.set(t, [e.entry]);
  }
  const named = [...groups].map(([t, ns]) => `${ns.length === 1 ? 'entry' : 'entries'} ${ns.join(', ')}: ${t}`);
  return {
    reason: groups.size === 1 && entries.length === failures.length ? text(best) : named.join('; '),
    guard: best.guard,
    expected: best.expected,
    actual: best.actual,
    entries,
    call,
  };
}
