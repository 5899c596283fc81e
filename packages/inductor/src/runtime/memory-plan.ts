/**
 * Memory planning: intermediate buffers are assigned to slots by liveness,
 * so values whose lifetimes do not overlap share memory. The plan is made
 * once per compiled graph; the slot buffers are kept and reused by every
 * call (commands run in queue order, so a later call's writes never race an
 * earlier call's reads) and grow to the largest size a call needs (sizes
 * may be dynamic). Graph outputs are not planned: each call allocates fresh
 * ones, since the caller keeps them.
 */
import type { IRNode } from '../ir/nodes';
import type { ScheduledKernel } from '../schedule';

export interface MemoryPlan {
  /** Slot of each planned intermediate. */
  slotOf: Map<IRNode, number>;
}

export function planMemory(kernels: readonly ScheduledKernel[], outputs: ReadonlySet<IRNode>): MemoryPlan {
  const lastUse = new Map<IRNode, number>();
  kernels.forEach((k, i) => k.reads.forEach((r) => lastUse.set(r, i)));
  const slotOf = new Map<IRNode, number>();
  const freeAt: number[] = []; // kernel index after which each slot is free again
  kernels.forEach((k, i) => {
    for (const w of k.writes) {
      if (outputs.has(w)) continue;
      // The first slot whose value was last read by an earlier kernel, else a new one.
      let slot = freeAt.findIndex((f) => f < i);
      if (slot < 0) slot = freeAt.push(0) - 1;
      slotOf.set(w, slot);
      freeAt[slot] = lastUse.get(w) ?? i;
    }
  });
  return { slotOf };
}
