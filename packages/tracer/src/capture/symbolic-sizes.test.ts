/**
 * Sizes read from `shape` (and JS integers that change between calls) stay
 * symbolic in graphs: code that computes with them compiles a bounded
 * number of graphs over many sizes, and its results equal eager's at each.
 * Graph counts are exact where the fitting is deterministic (the first
 * size is static, the second makes the dim dynamic, later sizes reuse it).
 */
import { arange, F, randn, type Tensor, tensor, zeros } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { getRuntime } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { CompileCounter, compile } from '../index';

const devices = await devicesUnderTest();
// 16 is also C and the weight's rows: a closed-over size equal to a symbol's value stays static.
const LENGTHS = [5, 7, 9, 12, 16];

async function expectClose(got: Tensor, want: Tensor): Promise<void> {
  expect(got.shape).toEqual(want.shape);
  const [g, w] = [await got.data(), await want.data()];
  // float32, one matmul or reduction of at most 64 terms apart: 1e-5 absolute + 1e-4 relative.
  w.forEach((v, i) => expect(Math.abs(g[i]! - v), `element ${i}: ${g[i]} vs ${v}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(v)));
}

/** Pipelines the webgpu runtime holds (0 on cpu): a new kernel is a new pipeline. */
async function pipelines(device: string): Promise<number> {
  return device === 'webgpu' ? (await getRuntime()).pipelines.size : 0;
}

describe.each(devices)('symbolic sizes on %s', (device) => {
  it('the reshape-by-shape model over 5 lengths: 2 graphs, no new kernels after the second length, each as eager', async () => {
    const w = randn([16, 8], { device });
    const model = (x: Tensor) => {
      const [B, T, C] = x.shape as [number, number, number];
      return x
        .reshape(B * T, C)
        .matmul(w)
        .reshape(B, T, -1)
        .relu();
    };
    const fast = compile(model);
    const after: [graphs: number, pipelines: number][] = [];
    for (const T of LENGTHS) {
      const x = randn([2, T, 16], { device });
      await expectClose(fast(x), model(x));
      after.push([fast.stats.graphsCompiled, await pipelines(device)]);
    }
    expect(fast.stats.graphsCompiled).toBe(2);
    expect(after.slice(2)).toEqual([after[1], after[1], after[1]]);
    expect(fast.explain().graphs.map((g) => g.note ?? 'compiled')).toEqual(['compiled']);
    expect(String(fast.explain())).toContain('reshape(%x, shape=[2*s0, 16])');
    expect(String(fast.explain())).toContain('symbolic sizes (one graph for every size): s0 = x.shape[1] (7 here)');
    expect(fast.explain().toHTML()).toContain('Symbolic sizes (one graph for every size): s0 = x.shape[1] (7 here)');
  });

  it('arange(T), expand(B, -1, -1), a causal mask built from T and a softmax over it: 2 graphs over 5 lengths', async () => {
    const fn = (x: Tensor) => {
      const [B, T] = x.shape as [number, number, number];
      const pos = arange(T, { device }).reshape(1, T, 1).expand(B, -1, -1);
      const causal = arange(T, { device }).reshape(T, 1).ge(arange(T, { device }).reshape(1, T));
      const scores = x.matmul(x.transpose(1, 2)).maskedFill(causal.logicalNot(), -Infinity);
      return F.softmax(scores, -1).matmul(x.add(pos));
    };
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const inductor = compile(fn);
    for (const T of LENGTHS) {
      const x = randn([2, T, 4], { device });
      await expectClose(fast(x), fn(x));
      await expectClose(inductor(x), fn(x));
    }
    expect(cnt.frameCount).toBe(2);
    expect(inductor.stats.graphsCompiled).toBe(2);
    expect(inductor.explain().graphs.map((g) => g.note ?? 'compiled')).toEqual(['compiled']);
  });

  it('slice(1, 0, T - 1) and split sizes from T: the relation is learned from the first two lengths, then reused', async () => {
    const fn = (x: Tensor) => {
      const T = x.shape[1]!;
      const [a, b] = x.slice(1, 0, T - 1).split([1, T - 2], 1) as [Tensor, Tensor];
      return b.sub(a).sum(1);
    };
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    for (const T of LENGTHS) {
      const x = randn([3, T, 2], { device });
      await expectClose(fast(x), fn(x));
    }
    expect(cnt.frameCount).toBe(2);
    expect(cnt.graphs.at(-1)!.toString()).toContain('end=s0 - 1');
  });

  it('a JS integer argument that changes every call (slice(0, 0, n)) becomes a symbol: 3 graphs for n = 0..9 (0 and 1 stay specialized)', async () => {
    const fn = (x: Tensor, n: number) => x.slice(0, 0, n).mul(2).sum(0);
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const x = randn([12, 3], { device });
    for (let n = 0; n < 10; n++) await expectClose(fast(x, n) as Tensor, fn(x, n));
    expect(cnt.frameCount).toBe(3);
    expect(fast.explain().guards).toContain('n is an integer >= 2 (dynamic)');
  });

  it('a KV-cache decode step at a moving position: one graph per step, 3 graphs for 10 steps, the cache and its version as eager', async () => {
    const step = (cache: Tensor) => (k: Tensor, q: Tensor, pos: number) => {
      cache.slice(1, pos, pos + 1).copy_(k);
      const ctx = cache.slice(1, 0, pos + 1);
      return F.softmax(q.matmul(ctx.transpose(1, 2)), -1).matmul(ctx);
    };
    const [mine, theirs] = [zeros([2, 16, 4], { device }), zeros([2, 16, 4], { device })];
    const cnt = new CompileCounter();
    const fast = compile(step(mine), { backend: cnt });
    for (let pos = 0; pos < 10; pos++) {
      const [k, q] = [randn([2, 1, 4], { device }), randn([2, 1, 4], { device })];
      await expectClose(fast(k, q, pos), step(theirs)(k, q, pos));
      await expectClose(mine, theirs);
      expect(mine.version).toBe(theirs.version);
      expect(fast.explain().graphBreakCount).toBe(0);
    }
    expect(cnt.frameCount).toBe(3);
  });

  it('a constant that equals a size at first is told apart once the size changes (a wrong guess costs a graph, never a result)', async () => {
    const fn = (x: Tensor) => x.reshape(x.shape[0]!, 4, -1).sum(1);
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt, dynamic: true });
    for (const n of [4, 6, 10, 12]) {
      const x = tensor(
        Array.from({ length: n * 8 }, (_, i) => i % 7),
        { device },
      ).reshape(n, 8);
      await expectClose(fast(x), fn(x));
    }
    expect(cnt.frameCount).toBeLessThanOrEqual(2);
    expect(cnt.graphs.at(-1)!.toString()).toContain('shape=[s0, 4, -1]');
  });
});
