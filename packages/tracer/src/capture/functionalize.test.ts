/**
 * In-place ops inside compiled functions are captured, not graph breaks:
 * recorded as the values they write and applied to memory at the end of the
 * call, so that results, the caller's tensors (through any view) and their
 * `version` counters equal eager's — with one graph where eager code has no
 * other reason to split. Each case runs eagerly and compiled on its own
 * copies of the same state and compares everything, on every device.
 */
import { F, randn, type Tensor, tensor, zeros } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import { CompileCounter, compile } from '../index';

const devices = await devicesUnderTest();

async function expectSame(got: Tensor, want: Tensor): Promise<void> {
  expect(got.shape).toEqual(want.shape);
  const [g, w] = [await got.data(), await want.data()];
  w.forEach((v, i) => expect(Math.abs(g[i]! - v), `element ${i}: ${g[i]} vs ${v}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(v)));
}

describe.each(devices)('functionalized in-place ops on %s', (device) => {
  it('a BatchNorm layer in training mode (running stats updated in place): one graph, no break, stats and versions as eager', async () => {
    const layer = (running: Tensor) => (x: Tensor) => {
      const mean = x.mean(0);
      running.mul_(0.9).add_(mean.mul(0.1));
      return x.sub(mean).div(x.var(0).add(1e-5).sqrt());
    };
    const [mine, theirs] = [zeros([6], { device }), zeros([6], { device })];
    const cnt = new CompileCounter();
    const fast = compile(layer(mine), { backend: cnt });
    for (let i = 0; i < 3; i++) {
      const x = randn([8, 6], { device });
      await expectSame(fast(x), layer(theirs)(x));
      await expectSame(mine, theirs);
      expect(mine.version).toBe(theirs.version);
    }
    expect(cnt.frameCount).toBe(1);
    expect(fast.explain().graphBreakCount).toBe(0);
    expect(String(fast.explain())).toContain(
      'in-place writes captured (functionalized, written back after the graph): a tensor the function closes over float32[6]: 2 writes',
    );
  });

  it('a movement op that copies a strided view (contiguous, reshape) reads it after a write through it, as eager', async () => {
    const reads: Record<string, (v: Tensor) => Tensor> = {
      contiguous: (v) => v.contiguous(),
      reshape: (v) => v.reshape([-1]),
      flatten: (v) => v.flatten(),
    };
    for (const [name, read] of Object.entries(reads)) {
      const f = (x: Tensor) => read(x.slice(1, 0, 6, 2).add_(1));
      const mine = randn([2, 6], { device });
      const theirs = mine.clone();
      await expectSame(compile(f)(mine), f(theirs));
      await expectSame(mine, theirs);
      expect(mine.version, name).toBe(theirs.version);
    }
  });

  it('a KV-cache decode step (cache.slice(...).copy_(k)): one graph per step, the cache as eager', async () => {
    const step = (cache: Tensor) => (k: Tensor, q: Tensor) => {
      cache.slice(1, 2, 3).copy_(k);
      return F.softmax(q.matmul(cache.transpose(1, 2)), -1).matmul(cache);
    };
    const mine = randn([2, 5, 4], { device });
    const theirs = mine.clone();
    const cnt = new CompileCounter();
    const fast = compile(step(mine), { backend: cnt });
    for (let i = 0; i < 3; i++) {
      const [k, q] = [randn([2, 1, 4], { device }), randn([2, 1, 4], { device })];
      await expectSame(fast(k, q), step(theirs)(k, q));
      await expectSame(mine, theirs);
      expect(mine.version).toBe(theirs.version);
    }
    expect(cnt.frameCount).toBe(1);
  });

  it('an optimizer-style update of several weights (w.sub_(g.mul(lr))): one graph, the weights as eager', async () => {
    const update = (ws: Tensor[], gs: Tensor[], lr: number) => {
      ws.forEach((w, i) => w.sub_(gs[i]!.mul(lr)));
    };
    const shapes = [[3, 4], [4], [2, 2]];
    const mine = shapes.map((s) => randn(s, { device }));
    const theirs = mine.map((w) => w.clone());
    const cnt = new CompileCounter();
    const fast = compile(update, { backend: cnt });
    for (let i = 0; i < 3; i++) {
      const gs = shapes.map((s) => randn(s, { device }));
      fast(mine, gs, 0.1);
      update(theirs, gs, 0.1);
      for (let j = 0; j < mine.length; j++) {
        await expectSame(mine[j]!, theirs[j]!);
        expect(mine[j]!.version).toBe(theirs[j]!.version);
      }
    }
    expect(cnt.frameCount).toBe(1);
    expect(fast.explain().graphBreakCount).toBe(0);
  });

  it('writes into intermediates and their views, fill_ and zero_: views see the write, earlier reads do not', async () => {
    const fn = (x: Tensor) => {
      const y = x.mul(2);
      const before = y.sum(); // reads y before it is written
      const row = y.slice(0, 1, 2); // a view: sees the writes
      row.fill_(5);
      y.slice(1, 0, 1).zero_();
      const after = row.add(1);
      return [before, after, y, row];
    };
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const x = randn([3, 4], { device });
    const [got, want] = [fast(x) as Tensor[], fn(x)];
    for (let i = 0; i < want.length; i++) await expectSame(got[i]!, want[i]!);
    expect([got[2]!.version, got[3]!.version]).toEqual([want[2]!.version, want[3]!.version]);
    expect(cnt.frameCount).toBe(1);
  });

  it("writes through a view of an input reach the caller's tensor; what the graph read before the write keeps eager's order", async () => {
    const fn = (x: Tensor) => {
      const total = x.sum();
      x.slice(0, 0, 2).mul_(-1);
      return [total, x.sum(), x.slice(0, 1, 3)];
    };
    const [mine, theirs] = [tensor([1, 2, 3, 4], { device }), tensor([1, 2, 3, 4], { device })];
    const fast = compile(fn, { backend: new CompileCounter() });
    for (let i = 0; i < 2; i++) {
      const [got, want] = [fast(mine) as Tensor[], fn(theirs)];
      for (let j = 0; j < want.length; j++) await expectSame(got[j]!, want[j]!);
      await expectSame(mine, theirs);
      expect(mine.version).toBe(theirs.version);
    }
  });

  it('runs with the inductor too (the write fused into the graph, applied after it)', async () => {
    const fn = (w: Tensor, g: Tensor) => {
      w.sub_(g.mul(0.5));
      return w.square().sum();
    };
    const mine = randn([16], { device });
    const theirs = mine.clone();
    const fast = compile(fn);
    for (let i = 0; i < 2; i++) {
      const g = randn([16], { device });
      await expectSame(fast(mine, g), fn(theirs, g));
      await expectSame(mine, theirs);
    }
    expect(fast.explain().graphs.map((x) => x.note ?? 'compiled')).toEqual(['compiled']);
  });
});
