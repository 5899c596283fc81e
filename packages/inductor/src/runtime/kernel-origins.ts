/**
 * Which graph nodes a kernel computes, for reports that draw the graph
 * colored by kernel: the IR values a kernel evaluates (what it writes, and
 * every value inlined into it, up to the buffers it reads), mapped back to
 * the op-level graph nodes they were lowered from. A value inlined into
 * several kernels (recomputed in each) belongs to each of them.
 */
import type { IRNode } from '../ir/nodes';
import type { ScheduledKernel } from '../schedule';

/** Ids of the graph nodes `k` computes (or computes part of), ascending. */
export function kernelGraphNodes(k: ScheduledKernel, origins: ReadonlyMap<number, readonly number[]>): number[] {
  const loaded = new Set<IRNode>(k.reads);
  const seen = new Set<IRNode>();
  const out = new Set<number>();
  const stack = [...k.writes];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n) || n.kind === 'input') continue;
    seen.add(n);
    for (const g of origins.get(n.id) ?? []) out.add(g);
    for (const d of n.deps) if (!loaded.has(d)) stack.push(d);
  }
  return [...out].sort((a, b) => a - b);
}
