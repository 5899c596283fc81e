import type { Tensor } from '@kiln/eager';
import { randn, tensor } from '@kiln/eager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompileCounter, compile } from '../index';

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
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /all 2 cache entries \(cacheSizeLimit\) are in use .*x\.shape\[0\] == 3 failed: expected 3, got 4/,
    );
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

describe('recompile limit of a function that re-runs its JavaScript', () => {
  /** `x.slice(0, 0, n)` with `n` a free variable (not guarded without the load-time transform): the graph changes on every call. */
  let n = 1;
  const fn = (x: Tensor) => x.slice(0, 0, n).mul(2).sum();

  it('compiles at most cacheSizeLimit graph variants, then runs eagerly, warning once with what changed; results equal eager', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt, cacheSizeLimit: 3 });
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (n = 1; n <= 10; n++) expect(await values(fast(x))).toEqual(await values(fn(x)));
    expect(cnt.frameCount).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /^\[kiln\] fn: its graph changed again \(graph 1: slice's end was 3, now 4\) after 3 variants \(cacheSizeLimit\)\. It re-runs its JavaScript \(free variables \(not guarded without the load-time transform\): n\)/,
    );
    expect(fast.stats).toMatchObject({ calls: 10, entries: 1, cacheHits: 3, eagerCalls: 6 });
    expect(fast.stats.recompiles.map((r) => `call ${r.call}: ${r.reason}`)).toEqual([
      "call 2: the graph changed while re-running the JavaScript (graph 1: slice's end was 1, now 2)",
      "call 3: the graph changed while re-running the JavaScript (graph 1: slice's end was 2, now 3)",
    ]);
    const report = fast.explain();
    expect(report.mode).toBe('eager');
    expect(report.modeReason).toMatch(
      /^its graph changed on more calls than cacheSizeLimit \(3\) allows, last graph 1: slice's end was 3, now 4; .*: n$/,
    );

    // Eager from now on: nothing more is compiled, and no second warning.
    for (n = 1; n <= 5; n++) expect(await values(fast(x))).toEqual(await values(fn(x)));
    expect(cnt.frameCount).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('repeating a structure it has seen is no recompile', async () => {
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt, cacheSizeLimit: 2 });
    const x = tensor([1, 2, 3, 4]);
    for (const k of [1, 2, 1, 2, 1, 2]) {
      n = k;
      expect(await values(fast(x))).toEqual(await values(fn(x)));
    }
    expect(cnt.frameCount).toBe(2);
    expect(fast.stats).toMatchObject({ cacheHits: 5, eagerCalls: 0 });
    expect(fast.stats.recompiles).toHaveLength(1);
    expect(fast.explain().mode).toBe('re-run');
  });
});
