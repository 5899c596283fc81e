/**
 * How the tracer treats each op: recorded into the graph, or run eagerly at
 * a graph break. One row per kind of op (TypeScript refuses a new kind without one).
 * In-place ops are functionalized: recorded as the values they write, the
 * writes applied to memory at the end of the call (the recorder). Device
 * transfers break: a compiled graph runs on one device.
 */

import type { OpKind, OpName } from '@kiln/eager';
import { OPS } from '@kiln/eager';

export type TracingRule =
  | { kind: 'record' }
  /** An in-place write: recorded as the value it writes, applied to memory at the end of the call (see the recorder). */
  | { kind: 'functionalize' }
  /** Runs eagerly at a graph break; `why` completes "graph break: <op> ...". */
  | { kind: 'break'; why: string };

const record: TracingRule = { kind: 'record' };

/** By kind of op: a new kind of op in the table makes TypeScript ask for its rule here. */
const BY_KIND: Record<OpKind, TracingRule> = {
  elementwise: record,
  reduce: record,
  movement: record,
  composite: record,
  matmul: record,
  cat: record,
  gather: record,
  full: record,
  arange: record,
  random: record,
  scatter: record,
  inplace: { kind: 'functionalize' },
  transfer: { kind: 'break', why: 'moves data between devices (a compiled graph runs on one device)' },
};

/** The rule for `op`; an op the table does not know has no tracing rule and breaks. */
export function tracingRule(op: OpName): TracingRule {
  const def = (OPS as Partial<Record<string, { kind: OpKind }>>)[op];
  return def ? BY_KIND[def.kind] : { kind: 'break', why: 'has no tracing rule' };
}

/** Ops that write into their first input (`copy_`, `fill_`; `add_` and the like are made of these): pending reads of that memory must run first. */
export function writesInPlace(op: OpName): boolean {
  return OPS[op].kind === 'inplace';
}

const RANDOM = new Set<string>([...Object.keys(OPS).filter((op) => OPS[op as OpName].kind === 'random'), 'dropout']);

/** Ops that draw from the global random stream: they run in the graph of the first segment that runs after them, in order. */
export function isRandom(op: OpName): boolean {
  return RANDOM.has(op);
}
