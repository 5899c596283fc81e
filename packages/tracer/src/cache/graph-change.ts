/**
 * What differs between two graphs that ran at the same place in two calls
 * of a re-running function, in words: the reason given when a value the
 * JavaScript reads or computes (a slice bound, a scalar, a shape) changes
 * the graph from one call to the next, which is a recompile like a failed
 * guard (`slice's end was 7, now 8`).
 */
import type { CallNode, Graph } from '@kiln/eager';
import type { TracedGraph } from '../backend';
import { stableKey } from '../capture/segment';

export interface GraphChange {
  /** What changed: `slice's end`, `input x`, `its op list`. */
  readonly subject: string;
  readonly was: string;
  readonly now: string;
}

const MAX_OPS = 8;

function opList(g: Graph): string {
  const ops = calls(g).map((n) => n.target);
  return ops.length > MAX_OPS ? `${ops.slice(0, MAX_OPS).join(', ')}, ... (${ops.length} ops)` : ops.join(', ');
}

function calls(g: Graph): CallNode[] {
  return g.nodes.filter((n): n is CallNode => n.op === 'call');
}

/** A placeholder's type with its dynamic dims written `s` (their sizes are not part of the structure). */
function inputType(g: TracedGraph, i: number): string {
  const p = g.placeholders[i]!;
  const dyn = g.dynamicDims.get(i) ?? [];
  return `${p.dtype}[${p.shape.map((s, d) => (dyn.includes(d) ? 's' : s)).join(',')}]`;
}

const text = (v: unknown) => (v === undefined ? 'absent' : stableKey(v));

export function graphChange(before: TracedGraph | undefined, after: TracedGraph): GraphChange {
  if (!before) return { subject: 'its op list', was: 'absent (no graph there in the last call)', now: opList(after) };
  const inputs = Math.min(before.placeholders.length, after.placeholders.length);
  for (let i = 0; i < inputs; i++) {
    const was = inputType(before, i);
    const now = inputType(after, i);
    if (was !== now) return { subject: `input ${after.placeholders[i]!.name}`, was, now };
  }
  const a = calls(before);
  const b = calls(after);
  if (a.length !== b.length || a.some((n, i) => n.target !== b[i]!.target))
    return { subject: 'its op list', was: opList(before), now: opList(after) };
  for (let i = 0; i < b.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xa = x.attrs as Record<string, unknown>;
    const ya = y.attrs as Record<string, unknown>;
    for (const k of new Set([...Object.keys(xa), ...Object.keys(ya)])) {
      if (text(xa[k]) !== text(ya[k])) return { subject: `${y.target}'s ${k}`, was: text(xa[k]), now: text(ya[k]) };
    }
    for (let j = 0; j < y.args.length; j++) {
      const u = x.args[j];
      const v = y.args[j];
      const scalar = (s: unknown) => typeof s !== 'object';
      if (scalar(u) && scalar(v) && text(u) !== text(v)) return { subject: `${y.target}'s argument ${j + 1}`, was: text(u), now: text(v) };
      if (scalar(u) !== scalar(v))
        return { subject: `${y.target}'s argument ${j + 1}`, was: scalar(u) ? text(u) : 'a tensor', now: scalar(v) ? text(v) : 'a tensor' };
    }
  }
  if (before.placeholders.length !== after.placeholders.length) {
    return { subject: 'its inputs', was: String(before.placeholders.length), now: String(after.placeholders.length) };
  }
  return { subject: 'how its ops connect or what it returns', was: 'one structure', now: 'another' };
}
