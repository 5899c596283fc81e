/**
 * Autograd's semantics, PyTorch's conventions: leaves and requiresGrad,
 * backward and its gradient argument, accumulation, detach, grad mode,
 * retainGrad, in-place writes and views (version counters), freeing the
 * graph, memory, and the functional form (grad / valueAndGrad).
 */
import { describe, expect, it } from 'vitest';
import { arange, full, ones, randn, tensor, zeros } from '../creation';
import { F } from '../functional';
import { memoryStats, tidy } from '../memory';
import type { Tensor } from '../tensor';
import { devicesUnderTest } from '../testing/devices';
import { grad, valueAndGrad } from './functional';
import { enableGrad, isGradEnabled, noGrad } from './grad-mode';
import { GradNode } from './node';

const values = async (t: Tensor | null) => {
  expect(t).not.toBeNull();
  return Array.from(await t!.data()).map((v) => Math.round(v * 1e4) / 1e4);
};

describe('leaves and requiresGrad', () => {
  it('a creation option, requiresGrad_() and the requiresGrad property mark float32 leaves', () => {
    const a = randn([4, 3], { requiresGrad: true });
    const b = zeros([2]).requiresGrad_();
    const c = ones([2]);
    c.requiresGrad = true;
    for (const t of [a, b, c]) expect([t.requiresGrad, t.isLeaf, t.gradFn, t.grad]).toEqual([true, true, null, null]);
    expect(b.requiresGrad_(false).requiresGrad).toBe(false);
    expect(() => arange(3).requiresGrad_()).toThrow('requiresGrad_: only float32 tensors can require gradients, got Tensor(int32[3], cpu)');
    expect(() => tensor([1, 2], { requiresGrad: 1 as never })).toThrow('tensor: requiresGrad must be true or false, got 1');
    expect(() => full([2], 1, { dtype: 'int32', requiresGrad: true })).toThrow('only float32 tensors can require gradients');
  });

  it('results of ops on tensors that require grad are non-leaves with a gradFn; others are leaves', () => {
    const x = randn([3], { requiresGrad: true });
    const y = x.mul(2).sum();
    expect([y.requiresGrad, y.isLeaf, String(y.gradFn)]).toEqual([true, false, '<SumBackward>']);
    expect(y.gradFn!.next[0]).toBeInstanceOf(GradNode);
    const z = randn([3]).exp();
    expect([z.requiresGrad, z.isLeaf]).toEqual([false, true]);
    // Only leaves can stop requiring grad (PyTorch's rule).
    expect(() => y.requiresGrad_(false)).toThrow('requiresGrad_: Tensor(float32[], cpu) is not a leaf (it was made by sum)');
  });

  it('non-differentiable ops give results that do not require grad; floor and friends give zero gradients', async () => {
    const x = tensor([0.5, 1.5, -2.2], { requiresGrad: true });
    for (const t of [x.gt(0), x.argmax(), x.eq(x), x.cast('int32'), x.any()]) expect(t.requiresGrad).toBe(false);
    x.floor().add(x.round()).sum().backward();
    expect(await values(x.grad)).toEqual([0, 0, 0]);
  });
});

describe('backward', () => {
  it('computes the gradient of a scalar, or of any output weighted by a gradient argument', async () => {
    const w = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const x = tensor([1, -1]);
    w.matmul(x).square().sum().backward();
    expect(await values(w.grad)).toEqual([-2, 2, -2, 2]);
    w.grad = null;
    w.matmul(x).backward(tensor([1, 10]));
    expect(await values(w.grad)).toEqual([1, -1, 10, -10]);
  });

  it('names the shapes when the gradient does not fit, and asks for one for a non-scalar output', () => {
    const y = randn([2, 3], { requiresGrad: true }).mul(2);
    expect(() => y.backward(ones([3]))).toThrow('backward: grad of shape [3] (float32 on cpu) does not match output float32[2,3] on cpu');
    expect(() => y.backward()).toThrow(
      'backward: a gradient can be implied only for a one-element output; pass backward(gradient) with one of shape [2,3]',
    );
    expect(() => randn([2]).sum().backward()).toThrow('backward: Tensor(float32[], cpu) does not require grad');
    expect(() => y.sum().backward(undefined, { retain: true } as never)).toThrow("backward: unknown option 'retain'");
  });

  it('accumulates into .grad across calls until it is set to null', async () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.square().sum().backward();
    const first = x.grad!;
    x.square().sum().backward();
    expect(await values(x.grad)).toEqual([4, 8, 12]);
    expect(x.grad).toBe(first); // in place, as PyTorch accumulates
    x.grad = null;
    x.mul(3).sum().backward();
    expect(await values(x.grad)).toEqual([3, 3, 3]);
    expect(() => (x.grad = zeros([2]))).toThrow(
      'grad: the gradient must match the tensor Tensor(float32[3], cpu), got Tensor(float32[2], cpu)',
    );
  });

  it('sums the gradients of a tensor used several times, and of broadcast operands', async () => {
    const b = tensor([1, 2], { requiresGrad: true });
    const x = tensor([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    x.add(b).mul(b).sum().backward();
    // d/db sum((x + b) * b) = sum over rows of (x + 2b)
    expect(await values(b.grad)).toEqual([6 + 6, 6 + 12]);
  });

  it('frees the graph: a second backward through saved tensors is an error unless retainGraph', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow('backward: trying to backward through the graph a second time: the tensors exp saved were freed');
    const z = x.exp().sum();
    x.grad = null;
    z.backward(null, { retainGraph: true });
    z.backward();
    const [g0, g1] = await values(x.grad);
    expect(g0).toBeCloseTo(2 * Math.E, 3);
    expect(g1).toBeCloseTo(2 * Math.exp(2), 3);
    // A graph that saved nothing can be walked again, as in PyTorch.
    const s = x.add(1).sum();
    s.backward();
    s.backward();
  });
});

describe('grad mode', () => {
  it('noGrad records nothing; enableGrad records inside it; both restore the mode', () => {
    const x = randn([2], { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      const inner = enableGrad(() => x.mul(2));
      expect(inner.requiresGrad).toBe(true);
      return x.mul(2);
    });
    expect([y.requiresGrad, isGradEnabled()]).toEqual([false, true]);
    expect(() => noGrad(async () => x.mul(2))).toThrow('noGrad: fn returned a Promise; grad mode only covers synchronous code');
    expect(isGradEnabled()).toBe(true);
  });

  it('detach shares data and version with the original but has no history', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    expect([d.requiresGrad, d.isLeaf, d.storage === y.storage]).toEqual([false, true, true]);
    d.fill_(5);
    expect(await values(y)).toEqual([5, 5]);
    expect(y.version).toBe(1);
  });
});

describe('retainGrad', () => {
  it('non-leaves keep their gradient when asked; otherwise .grad stays null', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3);
    const k = x.mul(4);
    expect(h.retainGrad()).toBe(h);
    expect(h.retainsGrad).toBe(true);
    h.square().add(k).sum().backward();
    expect(await values(h.grad)).toEqual([6, 12]);
    expect(k.grad).toBeNull();
    expect(() => randn([2]).retainGrad()).toThrow(
      'retainGrad: cannot retain the grad of Tensor(float32[2], cpu): it does not require grad',
    );
  });
});

describe('in-place writes', () => {
  it('a leaf that requires grad (or a view of one) cannot be written with grad mode on; inside noGrad it can', async () => {
    const w = tensor([1, 2], { requiresGrad: true });
    expect(() => w.add_(1)).toThrow(
      'copy_: a leaf tensor that requires grad (Tensor(float32[2], cpu)) cannot be written in place with grad mode on',
    );
    expect(() => w.slice(0, 0, 1).fill_(0)).toThrow('fill_: a view of a leaf tensor that requires grad');
    noGrad(() => w.mul_(2));
    expect([await values(w), w.version, w.requiresGrad, w.isLeaf]).toEqual([[2, 4], 1, true, true]);
  });

  it('a tensor saved for backward and then written makes backward throw, naming the op and the versions', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp();
    const loss = y.sum();
    y.add_(1);
    expect(() => loss.backward()).toThrow(
      'backward: one of the tensors needed for the gradient was modified by an in-place operation: the result of exp, float32[2], is at version 1; expected version 0',
    );
    // The optimizer-step mistake: a weight updated between forward and backward.
    const w = tensor([1, 2], { requiresGrad: true });
    const l2 = w.square().sum();
    noGrad(() => w.add_(1));
    expect(() => l2.backward()).toThrow('input 0 of square, float32[2], is at version 1; expected version 0');
  });

  it('add_ and mul_ on non-leaves rebase their history (mul_ keeps the original for its gradient)', async () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const c = tensor([2, 3, 4], { requiresGrad: true });
    const y = x.mul(1);
    y.add_(x); // 2x
    y.mul_(c); // 2xc
    expect(String(y.gradFn)).toBe('<Copy_Backward>');
    y.sum().backward();
    expect(await values(x.grad)).toEqual([4, 6, 8]);
    expect(await values(c.grad)).toEqual([2, 4, 6]);
  });

  it('copy_ into a tensor that does not require grad gives it the source history; its views follow (as in PyTorch)', async () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const buf = zeros([2, 2]);
    const row = buf.slice(0, 1, 2); // made before the write
    buf.slice(0, 0, 1).copy_(w.mul(3));
    expect([buf.requiresGrad, buf.isLeaf, row.requiresGrad, row.isLeaf]).toEqual([true, false, true, false]);
    buf.mul(buf).sum().backward();
    expect(await values(w.grad)).toEqual([18, 36]);
  });

  it('views of a written base derive their history from the new base (stale views are refreshed)', async () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const y = x.mul(1);
    const tail = y.slice(0, 2); // [3, 4] from x
    const s = tensor([10, 20], { requiresGrad: true });
    y.slice(0, 2).copy_(s); // tail now reads s
    tail.mul(tail).sum().backward();
    expect(await values(s.grad)).toEqual([20, 40]);
    expect(x.grad === null || (await values(x.grad)).every((v) => v === 0)).toBe(true);
  });

  it('a view made inside noGrad cannot be written with grad mode on when its base requires grad', () => {
    const y = randn([3], { requiresGrad: true }).mul(1);
    const v = noGrad(() => y.slice(0, 0, 2));
    expect(() => v.fill_(0)).toThrow('fill_: this view of Tensor(float32[3], cpu) was made inside noGrad and its base requires grad');
  });
});

describe('gradients at special points', () => {
  it('max and maximum share the gradient between ties, as PyTorch amax does; clamp keeps it at its bounds', async () => {
    const x = tensor([1, 3, 3], { requiresGrad: true });
    x.max().backward();
    expect(await values(x.grad)).toEqual([0, 0.5, 0.5]);
    const a = tensor([1, 2], { requiresGrad: true });
    a.maximum(tensor([1, 0]))
      .sum()
      .backward();
    expect(await values(a.grad)).toEqual([0.5, 1]);
    const c = tensor([-1, 0, 2], { requiresGrad: true });
    c.clamp(-1, 1).sum().backward();
    expect(await values(c.grad)).toEqual([1, 1, 0]);
  });

  it('prod gives the product of the others, also at zeros', async () => {
    const x = tensor([2, 0, 3], { requiresGrad: true });
    x.prod().backward();
    expect(await values(x.grad)).toEqual([0, 6, 0]);
  });
});

describe('memory', () => {
  it('a training step inside tidy keeps memory flat: saved tensors are freed, and so is a gradient set to null', () => {
    const w = randn([8, 8], { requiresGrad: true });
    const x = randn([4, 8]);
    const step = () =>
      tidy(() => {
        const loss = F.gelu(x.matmul(w)).softmax(-1).square().mean();
        loss.backward();
        noGrad(() => w.add_(w.grad!.mul(-0.1)));
        w.grad = null;
      });
    step();
    const before = memoryStats();
    for (let i = 0; i < 20; i++) step();
    expect(memoryStats()).toEqual(before);
  });

  it('saved tensors outlive a tidy (backward after it works) and are freed when the graph is', async () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const before = memoryStats().liveTensors;
    const loss = tidy(() => w.exp().mul(w.sin()).sum());
    expect(memoryStats().liveTensors).toBeGreaterThan(before + 1); // loss and what the graph saved
    loss.backward();
    expect(memoryStats().liveTensors).toBe(before + 2); // loss and w.grad
    const y = tidy(() => w.exp().mul(w.sin()).sum());
    y.dispose(); // nothing references its graph any more
    expect(memoryStats().liveTensors).toBe(before + 2);
    expect(await values(w.grad)).toEqual([
      Math.round(Math.exp(1) * (Math.sin(1) + Math.cos(1)) * 1e4) / 1e4,
      Math.round(Math.exp(2) * (Math.sin(2) + Math.cos(2)) * 1e4) / 1e4,
    ]);
  });

  it("disposing an input after the forward pass does not break backward: saved tensors are the graph's own", async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = tensor([3, 4]);
    const y = x.mul(h).sum();
    h.dispose();
    y.backward();
    expect(await values(x.grad)).toEqual([3, 4]);
  });

  it('a gradient made inside tidy survives it; dispose() frees a tensor and its gradient', () => {
    const w = randn([3], { requiresGrad: true });
    tidy(() => w.square().sum().backward());
    const g = w.grad!;
    expect(g.isDisposed).toBe(false);
    w.dispose();
    expect(g.isDisposed).toBe(true);
  });
});

describe('grad and valueAndGrad (JAX)', () => {
  it('differentiate with respect to argument 0, or the argnums given, without touching .grad', async () => {
    const w = tensor([1, 2, 3]);
    const g = grad((v: Tensor) => v.square().sum())(w);
    expect(await values(g)).toEqual([2, 4, 6]);
    const p = tensor([1, 1, 1], { requiresGrad: true });
    const f = (a: Tensor, b: Tensor) => a.mul(b).add(p).sum();
    const [value, gb] = valueAndGrad(f, { argnums: 1 })(w, tensor([4, 5, 6]));
    expect([await value.item(), await values(gb)]).toEqual([1 * 4 + 2 * 5 + 3 * 6 + 3, [1, 2, 3]]);
    expect(await values(valueAndGrad(f, 1)(w, tensor([4, 5, 6]))[1])).toEqual([1, 2, 3]);
    const both = grad(f, [0, 1])(w, tensor([4, 5, 6]));
    expect(await Promise.all(both.map(values))).toEqual([
      [4, 5, 6],
      [1, 2, 3],
    ]);
    expect([p.grad, w.grad, value.requiresGrad]).toEqual([null, null, false]);
  });

  it('give zeros for an argument the value does not depend on, and work inside noGrad', async () => {
    const g = noGrad(() => grad((_a: Tensor, b: Tensor) => b.sum(), 0)(tensor([1, 2]), tensor([3])));
    expect(await values(g)).toEqual([0, 0]);
  });

  it('check their arguments', () => {
    expect(() => grad((v: Tensor) => v)(tensor([1, 2]))).toThrow('grad: fn must return a one-element float32 Tensor');
    expect(() => grad((v: Tensor) => v.sum(), [0, 0])).toThrow('grad: argnums must be a non-negative integer or a list of distinct ones');
    expect(() => grad((v: Tensor) => v.sum())(arange(3) as Tensor)).toThrow('grad: argument 0 must be a float32 Tensor');
  });

  it('free the forward pass', () => {
    const w = randn([4, 4]);
    grad((v: Tensor) => v.matmul(v).tanh().sum())(w).dispose();
    const before = memoryStats().liveTensors;
    grad((v: Tensor) => v.matmul(v).tanh().sum())(w).dispose();
    expect(memoryStats().liveTensors).toBe(before);
  });
});

describe.each((await devicesUnderTest()).filter((d) => d === 'webgpu'))('on %s', () => {
  it('backward runs on the device of the graph; through to(webgpu) of a cpu leaf it is refused (no synchronous readback)', async () => {
    const w = tensor([1, 2], { device: 'webgpu', requiresGrad: true });
    w.square().sum().backward();
    expect(w.grad!.device).toBe('webgpu');
    expect(await values(w.grad)).toEqual([2, 4]);
    const c = tensor([1, 2], { requiresGrad: true });
    const loss = c.to('webgpu').sum();
    expect(() => loss.backward()).toThrow('backward: backward through to(webgpu) of a cpu tensor is not supported yet');
  });
});
