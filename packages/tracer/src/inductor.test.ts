import type { Device, Tensor } from '@kiln/eager';
import { F, initWebGpu, manualSeed, randn, tensor } from '@kiln/eager';
import { probeWebGpu } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { compile, disable } from './index';

const gpu = await probeWebGpu();
if (gpu.runtime) await initWebGpu();
const devices: Device[] = gpu.runtime ? ['cpu', 'webgpu'] : ['cpu'];

/** float32: rtol 1e-4, atol 1e-5 (the numeric contract in the repository's README.md). */
async function expectClose(got: Tensor, want: Tensor): Promise<void> {
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(want.dtype);
  const [g, w] = [await got.data(), await want.data()];
  for (let i = 0; i < w.length; i++) {
    expect(Math.abs(g[i]! - w[i]!), `element ${i}: ${g[i]} vs ${w[i]}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(w[i]!));
  }
}

const logBarrier = disable((t: Tensor) => t.abs().add(1).log());

describe.each(devices)('compiled with the inductor == eager on %s', (device) => {
  const r = (...shape: number[]) => randn(shape, { device });

  it('replays a pure function (one fused graph), call after call', async () => {
    const fn = (x: Tensor, y: Tensor) => x.mul(y).add(x.sigmoid()).sum(-1);
    const fast = compile(fn);
    for (let i = 0; i < 3; i++) {
      const [x, y] = [r(8, 33), r(8, 33)];
      await expectClose(fast(x, y), fn(x, y));
    }
    expect(fast.explain().mode).toBe('replay');
    expect(fast.explain().graphs[0]!.kernels.length).toBe(1);
    expect(fast.stats.graphsCompiled).toBe(1);
  });

  it('reads an input that is a dense view at a storage offset from its offset, first call included', async () => {
    const fast = compile((x: Tensor) => x.mul(2));
    const base = tensor([0, 1, 2, 3, 4, 5, 6, 7], { device });
    for (const [start, end] of [
      [4, 8],
      [2, 6],
      [0, 4],
    ] as const) {
      const x = base.slice(0, start, end);
      await expectClose(fast(x), x.mul(2));
    }
  });

  it('re-runs a function using F (an imported binding) and compiles each structure once', async () => {
    const fn = (x: Tensor, w: Tensor, b: Tensor) => F.softmax(F.gelu(F.linear(x, w, b)), -1);
    const fast = compile(fn);
    for (let i = 0; i < 3; i++) {
      const [x, w, b] = [r(6, 16), r(12, 16), r(12)];
      await expectClose(fast(x, w, b), fn(x, w, b));
    }
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.stats.graphsCompiled).toBe(1);
  });

  it('breaks on an awaited read, takes both branches, and matches eager', async () => {
    const fn = async (x: Tensor) => {
      const h = x.mul(2).tanh();
      if ((await h.sum().item()) > 0) return h.exp().mean();
      return logBarrier(h).mul(3);
    };
    const fast = compile(fn);
    for (const sign of [1, -1, 1, -1]) {
      const x = r(4, 5).abs().mul(sign);
      await expectClose(await fast(x), await fn(x));
    }
    expect(fast.stats.graphBreaks).toBeGreaterThanOrEqual(4);
  });

  it('compiles a module, with in-place updates of its parameters seen by the next call', async () => {
    const model = {
      w: r(5, 3),
      b: r(3),
      forward(x: Tensor) {
        return x.matmul(this.w).add(this.b).relu();
      },
    };
    const fast = compile(model);
    const x = r(7, 5);
    await expectClose(fast(x), model.forward(x));
    model.w.mul_(-1);
    await expectClose(fast(x), model.forward(x));
    expect(fast.stats.recompiles).toEqual([]);
  });

  it('applies input mutation and draws random numbers as eager does', async () => {
    const fn = (x: Tensor) => {
      const noise = randn([3], { device: x.device });
      x.add_(noise);
      return x.mul(2);
    };
    const [a, b] = [tensor([1, 2, 3], { device }), tensor([1, 2, 3], { device })];
    const fast = compile(fn);
    manualSeed(11);
    const want = fn(a);
    manualSeed(11);
    const got = fast(b);
    await expectClose(got, want);
    await expectClose(b, a);
    expect(b.version).toBe(a.version);
  });

  it('handles dynamic sizes with one entry', async () => {
    const fn = (x: Tensor) => x.exp().sub(1).sum(0);
    const fast = compile(fn);
    for (const n of [2, 3, 4, 5, 6]) {
      const x = r(n, 3);
      await expectClose(fast(x), fn(x));
    }
    expect(fast.stats.entries).toBe(2);
  });
});

describe('device transfers', () => {
  it('breaks at a move between devices and runs it eagerly', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const fn = (x: Tensor) => x.mul(2).to('webgpu').add(1);
    const fast = compile(fn);
    const x = randn([3, 4]);
    await expectClose(fast(x), fn(x));
    expect(fast(x).device).toBe('webgpu');
    expect(fast.explain().breakReasons[0]!.reason).toBe('.to() moves data between devices (a compiled graph runs on one device)');
    expect(fast.explain().graphs.map((g) => g.ops)).toEqual([['mul'], ['add']]);
  });
});
