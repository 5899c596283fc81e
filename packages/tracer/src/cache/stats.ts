/**
 * What a compiled function counts (`fast.stats`): calls, cache hits, the
 * recompiles with the guard that failed, entries, graphs compiled, breaks,
 * and the calls that ran eagerly past the limits.
 */
import type { GuardFailure } from '../guards/guards';

export interface Recompile {
  /** The failed guard with its expected and actual values: `x.shape[0] == 8 (got 16)`. */
  readonly reason: string;
  readonly guard: string;
  readonly expected: string;
  readonly actual: string;
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

/** The recompile of call number `call`, whose guards `failures` failed (the first is its reason). */
export function recompileOf(failures: readonly GuardFailure[], call: number): Recompile {
  const f = failures[0];
  if (!f)
    return {
      reason: 'no guard failed (a guard depends on something that changed while checking)',
      guard: '',
      expected: '',
      actual: '',
      call,
    };
  return {
    reason: `${f.guard.text} failed: expected ${f.guard.expected}, got ${f.actual}`,
    guard: f.guard.text,
    expected: f.guard.expected,
    actual: f.actual,
    call,
  };
}
