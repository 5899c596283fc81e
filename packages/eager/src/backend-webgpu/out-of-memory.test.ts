/**
 * Out of device memory is an OutOfMemoryError at the op that asked, never a
 * crash in the driver: the pool keeps account of every buffer against a
 * budget, set small here (its own file: the budget is the process's).
 */
import { OutOfMemoryError, probeWebGpu } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { ones } from '../creation';
import { memoryStats } from '../memory';
import type { Tensor } from '../tensor';
import { initWebGpu } from '.';

const gpu = await probeWebGpu();
const MiB = 2 ** 20;

describe('webgpu memory budget', () => {
  it('allocating tensors in a loop ends in an OutOfMemoryError naming the op, live, requested and budget bytes', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = await initWebGpu();
    rt.flush();
    const budget = rt.pool.stats().bytesReserved + 44 * MiB;
    await initWebGpu({ memoryBudget: budget });
    const kept: Tensor[] = [];
    let error: unknown;
    for (let i = 0; i < 20 && !error; i++) {
      try {
        kept.push(ones([2 * MiB], { device: 'webgpu' })); // 8 MiB each
      } catch (e) {
        error = e;
      }
    }
    expect(String(error)).toMatch(
      /full: out of memory making a float32\[2097152\] tensor: [\d.]+ MiB live, 8 MiB requested, budget [\d.]+ MiB\. Free tensors with dispose\(\)/,
    );
    expect(error).toBeInstanceOf(OutOfMemoryError);
    expect(kept.length).toBe(5);
    const stats = memoryStats().webgpu!;
    expect(stats.budget).toBe(budget);
    expect(stats.bytesReserved).toBeLessThanOrEqual(stats.budget);
    expect(stats.bytesLive).toBeGreaterThanOrEqual(5 * 8 * MiB);
    // What was made before is intact, and the device still works.
    expect(await kept[4]!.sum().item()).toBe(2 * MiB);

    // Disposed tensors' buffers stay cached for reuse, and are freed when a new size needs the room.
    kept.forEach((t) => t.dispose());
    rt.flush();
    expect(memoryStats().webgpu!.bytesPooled).toBeGreaterThanOrEqual(5 * 8 * MiB);
    const big = ones([8 * MiB], { device: 'webgpu' }); // 32 MiB: fits only once the cached buffers go
    expect(memoryStats().webgpu!.bytesPooled).toBeLessThan(5 * 8 * MiB);
    expect(await big.sum().item()).toBe(8 * MiB);
    big.dispose();
  });
});
