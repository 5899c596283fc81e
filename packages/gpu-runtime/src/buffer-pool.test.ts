import { describe, expect, it } from 'vitest';
import { BufferPool, sizeClass } from './buffer-pool';
import { formatBytes, OutOfMemoryError } from './errors';
import { probeWebGpu } from './probe';

describe('sizeClass', () => {
  it('rounds small requests to 256-byte multiples', () => {
    expect(sizeClass(0)).toBe(256);
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(257)).toBe(512);
    expect(sizeClass(4096)).toBe(4096);
  });

  it('wastes at most a quarter above 4 KiB and is idempotent', () => {
    for (let n = 4097; n < 1 << 26; n = Math.floor(n * 1.37) + 13) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c).toBeLessThanOrEqual(n * 1.25 + 1);
      expect(sizeClass(c)).toBe(c);
    }
  });
});

const gpu = await probeWebGpu();

describe('BufferPool on the device', () => {
  it('reuses a released buffer of the same class after a submit', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const a = rt.alloc(1000);
    rt.release(a);
    const before = rt.pool.stats();
    // Not reusable until the pending commands that might read it are submitted.
    const b = rt.alloc(1000);
    expect(b).not.toBe(a);
    rt.flush();
    const c = rt.alloc(900);
    expect(c).toBe(a);
    expect(rt.pool.stats().reused).toBe(before.reused + 1);
    rt.release(b);
    rt.release(c);
  });

  it('keeps stats of live, pooled and peak bytes', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    rt.flush();
    const s0 = rt.pool.stats();
    const bufs = [rt.alloc(1 << 20), rt.alloc(1 << 20)];
    const s1 = rt.pool.stats();
    expect(s1.bytesLive - s0.bytesLive).toBe(2 << 20);
    expect(s1.peakBytesLive).toBeGreaterThanOrEqual(s1.bytesLive);
    bufs.forEach((b) => rt.release(b));
    rt.flush();
    const s2 = rt.pool.stats();
    expect(s2.bytesLive).toBe(s0.bytesLive);
    expect(s2.bytesPooled - s0.bytesPooled).toBe(2 << 20);
    // A new peak starts from what is live now.
    rt.pool.resetPeak();
    expect(rt.pool.stats().peakBytesLive).toBe(s0.bytesLive);
    rt.release(rt.alloc(1 << 20));
    expect(rt.pool.stats().peakBytesLive).toBe(s0.bytesLive + (1 << 20));
  });

  it('over its cap destroys the buffers released longest ago, so the sizes in use now are reused', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const pool = new BufferPool(gpu.runtime.device, { maxPooledBytes: 64 * 1024 });
    const STORAGE = 0x80;
    // Earlier work: 16 buffers of 4 KiB fill the cap.
    const old = Array.from({ length: 16 }, () => pool.acquire(4096, STORAGE));
    for (const b of old) pool.release(b);
    pool.recycle();
    expect(pool.stats().bytesPooled).toBe(64 * 1024);
    // The work now: buffers of another size, released and acquired again call after call.
    const now = Array.from({ length: 4 }, () => pool.acquire(8192, STORAGE));
    for (const b of now) pool.release(b);
    pool.recycle();
    const created = pool.stats().created;
    const again = Array.from({ length: 4 }, () => pool.acquire(8192, STORAGE));
    expect(pool.stats().created).toBe(created); // all four from the pool
    expect(new Set(again)).toEqual(new Set(now));
    expect(pool.stats().bytesPooled).toBe(32 * 1024); // 8 of the old 4 KiB buffers went to make room
    for (const b of again) pool.release(b);
    pool.recycle();
    pool.trim();
  });

  it('throws a KilnError on double release', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const b = gpu.runtime.alloc(16);
    gpu.runtime.release(b);
    expect(() => gpu.runtime!.release(b)).toThrow(/released twice/);
  });

  it('does not grow over 10k allocate/release cycles of mixed sizes', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const sizes = [4, 1000, 5000, 70_000, 1 << 20];
    const s0 = rt.pool.stats();
    for (let i = 0; i < 10_000; i++) {
      const held = sizes.map((s) => rt.alloc(s + (i % 7)));
      held.forEach((b) => rt.release(b));
      if (i % 100 === 0) rt.flush();
    }
    rt.flush();
    const s1 = rt.pool.stats();
    expect(s1.bytesLive).toBe(s0.bytesLive);
    // Buffers wait for a submit before reuse, so one 100-cycle window's worth
    // may be created; after that every cycle is served from the pool.
    expect(s1.created - s0.created).toBeLessThanOrEqual(sizes.length * 100);
  });

  it('under its budget, frees cached buffers first, then raises OutOfMemoryError with live, requested and budget figures', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const saved = rt.memoryBudget;
    const MiB = 2 ** 20;
    rt.flush();
    const cached = rt.alloc(8 * MiB); // size classes (8, 6, 4, 3 MiB) not used before in this file
    rt.release(cached);
    rt.flush();
    const s0 = rt.pool.stats();
    expect(s0.bytesPooled).toBeGreaterThanOrEqual(8 * MiB);
    const held: GPUBuffer[] = [];
    try {
      // Room for 10 MiB more of live buffers, if the cached ones go.
      rt.memoryBudget = s0.bytesLive + 10 * MiB;
      held.push(rt.alloc(6 * MiB)); // 6 + 8 cached > 10
      const s1 = rt.pool.stats();
      expect(s1.bytesPooled).toBe(0); // the cached buffers were destroyed to make room
      expect(s1.bytesReserved).toBeLessThanOrEqual(s1.budget);
      // Released but not yet submitted: freed after a submit, when the budget needs it.
      const pending = rt.alloc(3 * MiB);
      rt.release(pending);
      held.push(rt.alloc(4 * MiB)); // 6 + 3 released + 4 > 10: submits, then frees the 3
      let error: unknown;
      try {
        rt.alloc(2 * MiB - 100);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OutOfMemoryError);
      const live = rt.pool.stats().bytesLive;
      expect((error as Error).message).toMatch(
        new RegExp(
          `^webgpu: out of memory: ${formatBytes(live)} live, ${formatBytes(2 * MiB - 100)} requested, budget ${formatBytes(s0.bytesLive + 10 * MiB)}\\. Free tensors with dispose\\(\\) or tidy\\(\\)`,
        ),
      );
      expect((error as OutOfMemoryError).figures).toEqual({ live, requested: 2 * MiB - 100, budget: s0.bytesLive + 10 * MiB, freed: 0 });
      expect(rt.pool.stats().bytesLive).toBe(live); // nothing was allocated
    } finally {
      held.forEach((b) => rt.release(b));
      rt.memoryBudget = saved;
    }
  });
});
