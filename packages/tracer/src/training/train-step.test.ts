/**
 * `compile(trainStep)`: forward, loss, `backward()` and the optimizer's
 * update captured whole, against the same step run eagerly (the
 * reference) from the same seed, on every device under test: the losses
 * and every parameter after each step agree at float32's tolerance
 * (rtol 1e-4, atol 1e-5). Also: the step is one graph (no break), the
 * backward's edge cases inside a compiled function, and the history of
 * tensors made outside the graph.
 */
import type { Device, Tensor } from '@kiln/eager';
import { F, manualSeed, nn, optim, randn, tidy } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import { compile } from '../compile';

const devices = await devicesUnderTest();

async function expectClose(got: Tensor, want: Tensor, what: string): Promise<void> {
  const [g, w] = [await got.data(), await want.data()];
  w.forEach((v, i) => {
    if (!(Math.abs(g[i]! - v) <= 1e-5 + 1e-4 * Math.abs(v))) expect.fail(`${what}, element ${i}: compiled ${g[i]}, eager ${v}`);
  });
}

/** A two-layer MLP and its optimizer, from a seed. */
function setup(device: Device, makeOpt: (params: Tensor[]) => optim.Optimizer<unknown>) {
  manualSeed(3);
  const l1 = new nn.Linear(6, 12, { device });
  const l2 = new nn.Linear(12, 4, { device });
  const params = [...l1.parameters(), ...l2.parameters()];
  const opt = makeOpt(params);
  const step = (x: Tensor, y: Tensor) =>
    tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(l2.forward(F.gelu(l1.forward(x))), y);
      loss.backward();
      opt.step();
      return loss;
    });
  return { params, step };
}

const OPTIMIZERS: [string, (p: Tensor[]) => optim.Optimizer<unknown>][] = [
  ['AdamW', (p) => new optim.AdamW(p, { lr: 0.05, weightDecay: 0.1 }) as optim.Optimizer<unknown>],
  ['SGD with momentum', (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9 }) as optim.Optimizer<unknown>],
];

describe.each(devices)('compile(trainStep) on %s', (device) => {
  for (const [name, makeOpt] of OPTIMIZERS) {
    it(`an MLP with ${name}: the same losses and parameters as eager, step after step, from one graph per step`, async () => {
      const eager = setup(device, makeOpt);
      const compiled = setup(device, makeOpt);
      const fast = compile(compiled.step);
      manualSeed(4);
      const x = randn([8, 6], { device });
      const y = randn([8], { device }).abs().mul(1.3).floor().cast('int32');
      for (let s = 0; s < 4; s++) {
        const [want, got] = [eager.step(x, y), fast(x, y)];
        await expectClose(got, want, `step ${s}: the loss`);
        for (const [i, p] of compiled.params.entries()) await expectClose(p, eager.params[i]!, `step ${s}: parameter ${i}`);
      }
      const report = fast.explain();
      expect(report.graphCount).toBe(1);
      expect(report.graphBreakCount).toBe(0);
      // The first step makes the optimizer's state; every later step runs one graph.
      expect(fast.stats.graphsCompiled).toBeLessThanOrEqual(2);
    });
  }
});

describe('backward() inside a compiled function', () => {
  it('continues eagerly into history made outside the graph (a graph break) and gives eager gradients', async () => {
    manualSeed(5);
    const w = randn([4, 3]).requiresGrad_();
    const step = (x: Tensor, h: Tensor) => {
      const loss = x.matmul(h).square().sum();
      loss.backward();
      return loss;
    };
    const x = randn([2, 4]);
    // h is made eagerly, with a history.
    step(x, w.sin());
    const want = w.grad!.clone();
    w.grad = null;
    const fast = compile(step);
    fast(x, w.sin());
    await expectClose(w.grad!, want, 'the gradient');
    expect(fast.explain().breakReasons[0]!.reason).toContain('backward() reaches tensors computed outside this graph');
  });

  it('a second backward through the same graph is eager error, inside the call or after it', () => {
    const w = randn([3]).requiresGrad_();
    const twice = compile((x: Tensor) => {
      const loss = x.mul(w).exp().sum();
      loss.backward();
      loss.backward();
      return loss;
    });
    expect(() => twice(randn([3]))).toThrow('trying to backward through the graph a second time');
    const once = compile((x: Tensor) => {
      const loss = x.mul(w).exp().sum();
      loss.backward();
      return loss;
    });
    const loss = once(randn([3]));
    expect(loss.requiresGrad).toBe(true);
    expect(() => loss.backward()).toThrow('trying to backward through the graph a second time');
  });

  it('accumulates into .grad as eager does, with retainGraph for a second pass', async () => {
    const w = randn([5]).requiresGrad_();
    const fn = (x: Tensor) => {
      const loss = x.mul(w).tanh().sum();
      loss.backward(null, { retainGraph: true });
      loss.backward();
      return loss;
    };
    const x = randn([5]);
    fn(x);
    const want = w.grad!.clone();
    w.grad = null;
    compile(fn)(x);
    await expectClose(w.grad!, want, 'the gradient');
  });
});
