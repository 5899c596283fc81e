import { randn, tensor } from '@kiln/eager';
import type { Tensor } from '@kiln/eager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compile, CompileCounter } from './index';

const values = (t: Tensor) => t.toArray();

afterEach(() => {
  vi.restoreAllMocks();
});

describe('cache size limit', () => {
  it('runs calls that match no entry eagerly past the limit, warns once, and keeps serving earlier entries', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const cnt = new CompileCounter();
    const fn = (x: Tensor) => x.mul(3).sub(1);
    const fast = compile(fn, { backend: cnt, dynamic: false, cacheSizeLimit: 2 });
    const sizes = [2, 3, 4, 5, 2, 3, 6];
    for (const n of sizes) {
      const x = randn([n]);
      expect(await values(fast(x))).toEqual(await values(fn(x)));
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/all 2 cache entries \(cacheSizeLimit\) are in use .*x\.shape\[0\] == 3 failed: expected 3, got 4/);
    expect(fast.stats).toMatchObject({ calls: 7, entries: 2, cacheHits: 2, eagerCalls: 3 });
    expect(cnt.frameCount).toBe(2);
  });

  it('checks entries in order: the first whose guards pass serves the call', () => {
    const cnt = new CompileCounter();
    const fast = compile((x: Tensor, k: number) => x.mul(k), { backend: cnt });
    fast(tensor([1]), 1);
    fast(tensor([1]), 2);
    fast(tensor([1]), 1);
    fast(tensor([1]), 2);
    expect(fast.stats).toMatchObject({ entries: 2, cacheHits: 2 });
    expect(fast.stats.recompiles.map((r) => r.reason)).toEqual(['k == 1 failed: expected 1, got 2']);
  });

  it('guards tensor aliasing: the same tensor twice is a different graph from two tensors', async () => {
    const fast = compile((a: Tensor, b: Tensor) => a.add(b), { backend: new CompileCounter() });
    const x = tensor([1, 2]);
    expect(await values(fast(x, x))).toEqual([2, 4]);
    expect(await values(fast(x, tensor([10, 10])))).toEqual([11, 12]);
    expect(fast.stats.recompiles[0]!.reason).toBe('b is a failed: expected b is a, got all distinct');
  });
});
