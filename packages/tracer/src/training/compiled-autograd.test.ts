/**
 * Autograd semantics of compiled functions whose inputs require grad, each
 * checked against eager (the reference): guards on requiresGrad and grad
 * mode, noGrad inside, several results, views of results, retainGraph and
 * a second backward, a saved input written in place, graph breaks, replay,
 * gradients accumulating across calls, and modules. Values compare at
 * float32's tolerance (rtol 1e-4, atol 1e-5).
 */
import type { Tensor } from '@kiln/eager';
import { KilnError, manualSeed, nn, noGrad, randn } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import { disable } from '../capture/disable';
import { compile } from '../compile';

async function expectClose(got: Tensor | null, want: Tensor | null): Promise<void> {
  expect(got).not.toBeNull();
  expect(want).not.toBeNull();
  expect(got!.shape).toEqual(want!.shape);
  const [g, w] = [await got!.data(), await want!.data()];
  w.forEach((v, i) => {
    if (!(Math.abs(g[i]! - v) <= 1e-5 + 1e-4 * Math.abs(v))) expect.fail(`element ${i}: compiled ${g[i]}, eager ${v}`);
  });
}

/** Leaves that require grad, seeded. */
function leaves(seed: number, ...shapes: number[][]): Tensor[] {
  manualSeed(seed);
  return shapes.map((s) => randn(s).requiresGrad_());
}

/** Runs `f` on `xs` (leaves), returns their gradients (cloned) and clears them. */
function gradsOf(f: () => void, xs: readonly Tensor[]): Tensor[] {
  f();
  const out = xs.map((x) => x.grad!.clone());
  for (const x of xs) x.grad = null;
  return out;
}

describe('compiled functions whose inputs require grad', () => {
  it('replay when they can, and their results backward like eager on every call', async () => {
    const fn = (x: Tensor, w: Tensor) => x.matmul(w).tanh().sum();
    const fast = compile(fn);
    for (let call = 0; call < 3; call++) {
      const [x, w] = leaves(call, [3, 4], [4, 5]);
      const want = gradsOf(() => fn(x!, w!).backward(), [x!, w!]);
      const got = gradsOf(() => fast(x!, w!).backward(), [x!, w!]);
      for (let i = 0; i < 2; i++) await expectClose(got[i]!, want[i]!);
    }
    expect(fast.explain().mode).toBe('replay');
    expect(fast.stats.graphsCompiled).toBe(1);
  });

  it('guard requiresGrad and grad mode: a change recompiles, and noGrad gives results without history', () => {
    const fast = compile((x: Tensor) => x.exp().sum());
    const [x] = leaves(1, [4]);
    expect(fast(x!).requiresGrad).toBe(true);
    expect(noGrad(() => fast(x!)).requiresGrad).toBe(false);
    expect(fast.stats.recompiles.at(-1)!.guard).toBe('grad mode is on');
    expect(fast(x!.detach()).requiresGrad).toBe(false);
    expect(fast.stats.recompiles.at(-1)!.reason).toContain('x.requiresGrad == true');
    expect(fast.explain().guards).toContain('x.requiresGrad == false');
  });

  it('noGrad inside cuts the graph as in eager', async () => {
    const fn = (x: Tensor, w: Tensor) => {
      const scale = noGrad(() => w.square().sum());
      return x.mul(w).mul(scale).sum();
    };
    const [x, w] = leaves(2, [6], [6]);
    const want = gradsOf(() => fn(x!, w!).backward(), [x!, w!]);
    const got = gradsOf(() => compile(fn)(x!, w!).backward(), [x!, w!]);
    for (let i = 0; i < 2; i++) await expectClose(got[i]!, want[i]!);
  });

  it('a result no gradient reached adds nothing, not even 0 times its infinite derivative (NaN), and its inputs get no gradient', async () => {
    const fn = (x: Tensor, y: Tensor) => [x.sin(), x.div(0), y.exp()] as const;
    const fast = compile(fn);
    const [x, y] = leaves(4, [3], [3]);
    const want = gradsOf(() => fn(x!, y!)[0].sum().backward(), [x!]);
    const [a] = fast(x!, y!);
    a.sum().backward();
    await expectClose(x!.grad, want[0]!);
    expect(y!.grad).toBeNull();
  });

  it('several results: the backward runs once with every gradient that reached them', async () => {
    const fn = (x: Tensor) => [x.sin(), x.mul(3).square(), x.exp()] as const;
    const fast = compile(fn);
    const [x] = leaves(3, [2, 3]);
    const want = gradsOf(() => {
      const [a, b] = fn(x!);
      a.sum().add(b.mul(2).sum()).backward();
    }, [x!]);
    const got = gradsOf(() => {
      const [a, b] = fast(x!);
      a.sum().add(b.mul(2).sum()).backward();
    }, [x!]);
    await expectClose(got[0]!, want[0]!);
  });

  it('views of results (and of inputs) backward through their view ops', async () => {
    const fn = (x: Tensor) => [x.mul(2).exp().transpose(0, 1), x.slice(1, 0, 2)] as const;
    const [x] = leaves(4, [3, 4]);
    const run = (f: typeof fn) => () => {
      const [a, b] = f(x!);
      a.slice(0, 1, 3).sum().add(b.square().sum()).backward();
    };
    const want = gradsOf(run(fn), [x!]);
    const got = gradsOf(run(compile(fn)), [x!]);
    await expectClose(got[0]!, want[0]!);
  });

  it('a second backward through the same results is an error unless the first retained the graph', async () => {
    const fn = (x: Tensor) => x.exp().sum();
    const [x] = leaves(5, [4]);
    const want = gradsOf(() => fn(x!).backward(), [x!])[0]!;
    const fast = compile(fn);
    const y = fast(x!);
    y.backward();
    expect(() => y.backward()).toThrow('trying to backward through the graph a second time');
    x!.grad = null;
    const z = fast(x!);
    z.backward(null, { retainGraph: true });
    z.backward();
    await expectClose(x!.grad, want.mul(2));
  });

  it('a saved input written in place before backward is the error eager gives', () => {
    const [w] = leaves(6, [4]);
    const x = randn([4]);
    const y = compile((x: Tensor, w: Tensor) => x.mul(w).sum())(x, w!);
    x.add_(1);
    expect(() => y.backward()).toThrow(KilnError);
    expect(() => y.backward()).toThrow('modified by an in-place operation');
  });

  it('gradients flow across a graph break, through both graphs', async () => {
    const peek = disable((t: Tensor) => t.abs().add(1).log());
    const fn = (x: Tensor, w: Tensor) => {
      const h = x.matmul(w).relu();
      return h.mul(peek(h)).sum();
    };
    const [x, w] = leaves(7, [3, 4], [4, 2]);
    const want = gradsOf(() => fn(x!, w!).backward(), [x!, w!]);
    const fast = compile(fn);
    const got = gradsOf(() => fast(x!, w!).backward(), [x!, w!]);
    expect(fast.explain().graphBreakCount).toBe(1);
    for (let i = 0; i < 2; i++) await expectClose(got[i]!, want[i]!);
  });

  it('gradients accumulate across calls as in eager', async () => {
    const fn = (x: Tensor) => x.sigmoid().sum();
    const fast = compile(fn);
    const [x] = leaves(8, [5]);
    fn(x!).backward();
    fn(x!).backward();
    const want = x!.grad!.clone();
    x!.grad = null;
    fast(x!).backward();
    fast(x!).backward();
    await expectClose(x!.grad, want);
  });

  it('an nn module compiled: its parameters get the gradients eager gives', async () => {
    manualSeed(9);
    const model = new nn.Linear(6, 3);
    const x = randn([4, 6]);
    const params = model.parameters();
    const want = gradsOf(() => model.forward(x).square().mean().backward(), params);
    const fast = compile(model);
    const got = gradsOf(() => fast(x).square().mean().backward(), params);
    for (let i = 0; i < params.length; i++) await expectClose(got[i]!, want[i]!);
  });
});
