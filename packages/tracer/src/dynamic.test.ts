import type { Tensor } from '@kiln/eager';
import { randn, tensor } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import type { CompileOptions } from './index';
import { CompileCounter, compile, TracedGraph } from './index';

const values = (t: Tensor) => t.toArray();
const fn = (x: Tensor) => x.mul(2).add(x.sin()).sum(1);

/** Calls `fn` compiled with `options` at first-dim sizes 2..6; returns entries, recompiles and graphs given to the backend. */
async function sweep(options: CompileOptions, sizes = [2, 3, 4, 5, 6]) {
  const cnt = new CompileCounter();
  const fast = compile(fn, { ...options, backend: cnt });
  for (const n of sizes) {
    const x = randn([n, 4]);
    expect(await values(fast(x))).toEqual(await values(fn(x)));
  }
  return { entries: fast.stats.entries, recompiles: fast.stats.recompiles, frames: cnt.frameCount, fast, cnt };
}

describe('dynamic shapes', () => {
  it('automatic: after a recompile caused only by a size, that dim is dynamic (sizes 2..6: at most 2 compiles)', async () => {
    const { entries, recompiles, frames, fast, cnt } = await sweep({});
    expect(entries).toBeLessThanOrEqual(2);
    expect(frames).toBeLessThanOrEqual(2);
    expect(recompiles.map((r) => r.reason)).toEqual(['x.shape[0] == 2 failed: expected 2, got 3']);
    expect(fast.explain().guards).toContain('x.shape[0] >= 2 (dynamic)');
    expect(fast.explain().guards).toContain('x.shape[1] == 4');
    const g = cnt.graphs[1] as TracedGraph;
    expect(g).toBeInstanceOf(TracedGraph);
    expect([...g.dynamicDims]).toEqual([[0, [0]]]);
    expect(g.toString()).toContain('# dynamic sizes: s0 = x.shape[0] (3 here)');
  });

  it('dynamic: false compiles every size', async () => {
    const { entries, frames } = await sweep({ dynamic: false });
    expect([entries, frames]).toEqual([5, 5]);
  });

  it('dynamic: true compiles once', async () => {
    const { entries, frames, recompiles } = await sweep({ dynamic: true }, [2, 3, 5, 6, 7]);
    expect([entries, frames, recompiles.length]).toEqual([1, 1, 0]);
  });

  it('a dynamic size equal to another dynamic size has a graph of its own (duck sizing: they share a symbol there)', async () => {
    const { frames, cnt } = await sweep({ dynamic: true }, [2, 4, 5, 4]);
    expect(frames).toBe(2);
    expect(cnt.graphs[1]!.toString()).toContain('# dynamic sizes: s0 = x.shape[0] (4 here)');
  });

  it('keeps sizes 0 and 1 specialized', async () => {
    const { fast } = await sweep({ dynamic: true }, [3, 1, 5, 0, 1, 7]);
    expect(fast.stats.entries).toBe(3);
    expect(fast.stats.recompiles.map((r) => r.reason)).toEqual([
      'x.shape[0] >= 2 (dynamic) failed: expected >= 2, got 1',
      // each entry's own failed guard
      'entry 1: x.shape[0] >= 2 (dynamic) failed: expected >= 2, got 0; entry 2: x.shape[0] == 1 failed: expected 1, got 0',
    ]);
  });

  it('does not make a dim dynamic when something else changed too', async () => {
    const cnt = new CompileCounter();
    const fast = compile((x: Tensor) => x.add(1), { backend: cnt });
    fast(randn([2]));
    fast(tensor([1, 2, 3], { dtype: 'int32' }));
    fast(randn([4]));
    expect(fast.explain().guards).toContain('x.shape[0] == 4');
    expect(fast.explain().guards).not.toContain('x.shape[0] >= 2 (dynamic)');
    expect(fast.stats.entries).toBe(3);
  });

  it('a size flows into op attributes symbolically: reshape(n * 2), slice(0, 0, n - 1) reuse one graph once an earlier size shows the relation', async () => {
    const f = (x: Tensor) =>
      x
        .reshape([x.shape[0]! * 2, -1])
        .slice(0, 0, x.shape[0]! - 1)
        .mul(2);
    for (const dynamic of [true, undefined]) {
      const cnt = new CompileCounter();
      const fast = compile(f, { backend: cnt, dynamic });
      for (const n of [2, 3, 4, 5, 7, 9]) {
        const x = randn([n, 6]);
        expect(await values(fast(x))).toEqual(await values(f(x)));
      }
      // The first call has no earlier size: n - 1 is a constant there, and symbolic from the second size on.
      expect(cnt.frameCount).toBe(2);
      expect(cnt.graphs.at(-1)!.toString()).toContain('reshape(%x, shape=[2*s0, -1])');
      expect(cnt.graphs.at(-1)!.toString()).toContain('end=s0 - 1');
    }
  });

  it('re-uses a dynamic entry in re-run mode too', async () => {
    let bias = 1;
    const f = (x: Tensor) => x.add(bias).exp();
    const cnt = new CompileCounter();
    const fast = compile(f, { backend: cnt });
    for (const n of [2, 3, 4, 5, 6]) {
      bias = n;
      const x = randn([n]);
      expect(await values(fast(x))).toEqual(await values(f(x)));
    }
    expect(fast.stats.entries).toBe(2);
    expect(fast.explain().mode).toBe('re-run');
  });

  it('compiles once with the inductor, whose kernels take the dynamic size at run time', async () => {
    const fast = compile(fn, { dynamic: true });
    for (const n of [2, 3, 2, 3, 7, 50]) {
      const x = randn([n, 4]);
      const [got, want] = [await x.mul(2).add(x.sin()).sum(1).data(), await fast(x).data()];
      got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-5 + 1e-4 * Math.abs(g)));
    }
    expect(fast.stats).toMatchObject({ entries: 1, graphsCompiled: 1, recompiles: [] });
  });
});
