/**
 * Memory planning: intermediate buffers are assigned to slots by liveness,
 * so values whose lifetimes do not overlap share memory. The plan is made
 * once per compiled graph; the slot buffers are kept and reused by every
 * call (commands run in queue order, so a later call's writes never race an
 * earlier call's reads). Graph outputs are not planned: each call allocates
 * fresh ones, since the caller keeps them.
 */
import type { IRNode } from '../ir/nodes';
import type { ScheduledKernel } from '../schedule';

export interface MemoryPlan {
  /** Slot of each planned intermediate. */
  slotOf: Map<IRNode, number>;
  /** Bytes of each slot (the largest value it holds). */
  slotBytes: number[];
}

export function planMemory(kernels: readonly ScheduledKernel[], outputs: ReadonlySet<IRNode>, bytesOf: (n: IRNode) => number): MemoryPlan {
  const lastUse = new Map<IRNode, number>();
  kernels.forEach((k, i) => k.reads.forEach((r) => lastUse.set(r, i)));
  const slotOf = new Map<IRNode, number>();
  const slotBytes: number[] = [];
  const freeAt: number[] = []; // kernel index after which each slot is free again
  kernels.forEach((k, i) => {
    for (const w of k.writes) {
      if (outputs.has(w)) continue;
      const bytes = bytesOf(w);
      // Best fit among slots whose value was last read by an earlier kernel.
      let best = -1;
      for (let s = 0; s < slotBytes.length; s++) {
        if (freeAt[s]! >= i) continue;
        if (best < 0 || Math.abs(slotBytes[s]! - bytes) < Math.abs(slotBytes[best]! - bytes)) best = s;
      }
      if (best < 0) {
        best = slotBytes.push(bytes) - 1;
        freeAt.push(Infinity);
      }
      slotBytes[best] = Math.max(slotBytes[best]!, bytes);
      slotOf.set(w, best);
      freeAt[best] = lastUse.get(w) ?? i;
    }
  });
  return { slotOf, slotBytes };
}
