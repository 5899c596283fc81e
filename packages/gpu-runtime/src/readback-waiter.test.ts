import { describe, expect, it } from 'vitest';
import { ReadbackWaiter } from './readback-waiter';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed(f: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await f();
  return performance.now() - start;
}

describe('ReadbackWaiter', () => {
  it('sleeps before a readback that took long after the same work, not after other work', async () => {
    const waiter = new ReadbackWaiter(0.8, 2);
    // A slow readback after kernel A (40 ms from beforeMap to mapped).
    const done = await waiter.beforeMap('1:A', 4);
    await sleep(40);
    done();
    // The same work again: most of that time is slept before mapping.
    expect(await timed(() => waiter.beforeMap('1:A', 4))).toBeGreaterThanOrEqual(25);
    // Other work, or another size: no history, no sleep.
    expect(await timed(() => waiter.beforeMap('1:B', 4))).toBeLessThan(10);
    expect(await timed(() => waiter.beforeMap('1:A', 4096))).toBeLessThan(10);
  });

  it('shrinks its sleep when the work got faster (the minimum of recent times)', async () => {
    const waiter = new ReadbackWaiter(0.8, 2);
    (await waiter.beforeMap('w', 4))(); // instantly mapped: a fast readback
    const slow = await waiter.beforeMap('w', 4);
    await sleep(50);
    slow();
    expect(await timed(() => waiter.beforeMap('w', 4))).toBeLessThan(10);
  });

  it('learns half the time when it overslept (mapped at once on waking), so it finds faster work in a few calls', async () => {
    const waiter = new ReadbackWaiter(0.8, 2);
    const first = await waiter.beforeMap('w', 4);
    await sleep(50);
    first(); // learned: 50 ms
    (await waiter.beforeMap('w', 4))(); // slept 40 ms and mapped at once: learned 20, not 40
    expect(await timed(() => waiter.beforeMap('w', 4))).toBeLessThan(28); // 0.8 x 20 = 16 (0.8 x 40 = 32 without)
  });

  it('learns nothing from a readback it is told not to (work that waited on new pipelines)', async () => {
    const waiter = new ReadbackWaiter(0.8, 2);
    const compiling = await waiter.beforeMap('w', 4, false);
    await sleep(40);
    compiling();
    expect(await timed(() => waiter.beforeMap('w', 4))).toBeLessThan(10);
  });
});
