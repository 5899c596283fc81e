/**
 * SGD and AdamW against hand-written float64 references of PyTorch's update
 * rules, for one step and several, on every device under test. The loss
 * L(p) = sum(c (p - t)^2) gives the gradient 2 c (p - t), which changes with
 * every step. Tolerance: rtol 1e-5, atol 1e-6 (float32 updates of O(1)
 * values over at most 5 steps).
 */
import { describe, expect, it } from 'vitest';
import { randn, tensor } from '../creation';
import { memoryStats, tidy } from '../memory';
import type { Tensor } from '../tensor';
import { devicesUnderTest } from '../testing/devices';
import { AdamW, SGD } from './index';
import type { Optimizer } from './optimizer';

const P0 = [0.5, -1.25, 2, 0.75, -0.3, 1.1];
const T = [1, 0.5, -1, 0, 0.25, 2];
const C = [1, 2, 0.5, 3, 1.5, 0.25];

function sgdRef(steps: number, lr: number, momentum: number, weightDecay: number): number[] {
  const p = [...P0];
  const buf: number[] = [];
  for (let s = 0; s < steps; s++) {
    p.forEach((v, i) => {
      let d = 2 * C[i]! * (v - T[i]!) + weightDecay * v;
      if (momentum !== 0) {
        buf[i] = s === 0 ? d : momentum * buf[i]! + d;
        d = buf[i]!;
      }
      p[i] = v - lr * d;
    });
  }
  return p;
}

function adamwRef(steps: number, lr: number, [b1, b2]: [number, number], eps: number, weightDecay: number): number[] {
  const p = [...P0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    p.forEach((x, i) => {
      const g = 2 * C[i]! * (x - T[i]!);
      const decayed = x * (1 - lr * weightDecay);
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] = decayed - (lr / (1 - b1 ** t)) * (m[i]! / denom);
    });
  }
  return p;
}

async function expectNear(t: Tensor, want: readonly number[]): Promise<void> {
  const got = Array.from(await t.data());
  got.forEach((g, i) => {
    if (!(Math.abs(g - want[i]!) <= 1e-6 + 1e-5 * Math.abs(want[i]!))) expect.fail(`element ${i}: got ${g}, expected ${want[i]}`);
  });
}

describe.each(await devicesUnderTest())('optimizers on %s', (device) => {
  const setup = () => {
    const p = tensor(P0, { device, requiresGrad: true }).reshape([2, 3]).detach().requiresGrad_();
    const unused = tensor([1, 2], { device, requiresGrad: true });
    const target = tensor(T, { device }).reshape([2, 3]);
    const c = tensor(C, { device }).reshape([2, 3]);
    return {
      p,
      unused,
      run: (opt: Optimizer<unknown>, steps: number) => {
        for (let s = 0; s < steps; s++) {
          tidy(() => {
            opt.zeroGrad();
            p.sub(target).square().mul(c).sum().backward();
            opt.step();
          });
        }
      },
    };
  };

  for (const steps of [1, 5]) {
    it(`SGD with momentum and weight decay, ${steps} step(s)`, async () => {
      const { p, unused, run } = setup();
      run(new SGD([p, unused], { lr: 0.05, momentum: 0.9, weightDecay: 0.1 }), steps);
      await expectNear(p, sgdRef(steps, 0.05, 0.9, 0.1));
      await expectNear(unused, [1, 2]); // no gradient: left alone
    });

    it(`AdamW, ${steps} step(s)`, async () => {
      const { p, unused, run } = setup();
      run(new AdamW([p, unused], { lr: 0.1, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.05 }), steps);
      await expectNear(p, adamwRef(steps, 0.1, [0.8, 0.99], 1e-6, 0.05));
      await expectNear(unused, [1, 2]);
    });
  }

  it('plain SGD with defaults; a changed lr applies from the next step', async () => {
    const { p, run } = setup();
    const opt = new SGD([p], { lr: 0.1 });
    run(opt, 1);
    opt.lr = 0;
    run(opt, 1);
    await expectNear(p, sgdRef(1, 0.1, 0, 0));
  });

  it('keep their state out of tidy and memory flat across steps; the parameter keeps its identity', () => {
    const { p, run } = setup();
    const opt = new AdamW([p]);
    const storage = p.storage;
    run(opt, 2);
    const { liveTensors, bytes } = memoryStats();
    run(opt, 5);
    expect(memoryStats()).toMatchObject({ liveTensors, bytes });
    expect([p.storage, p.isLeaf, p.requiresGrad]).toEqual([storage, true, true]);
  });
});

describe('optimizer arguments', () => {
  it('are checked', () => {
    const p = randn([2], { requiresGrad: true });
    expect(() => new SGD([])).toThrow('SGD: got an empty list of parameters');
    expect(() => new SGD([p.mul(2)])).toThrow(
      'SGD: parameter 0 must be a live float32 leaf tensor, got Tensor(float32[2], cpu) (a non-leaf)',
    );
    expect(() => new SGD([p, p])).toThrow('SGD: parameter 1 appears twice (also at 0)');
    expect(() => new SGD([p], { lr: -1 })).toThrow('SGD: lr must be a number >= 0, got -1');
    expect(() => new AdamW([p], { betas: [0.9, 1] })).toThrow('AdamW: betas must be two numbers in [0, 1), got [0.9,1]');
    expect(() => new AdamW([p], { weight_decay: 0.1 } as never)).toThrow("AdamW: unknown option 'weight_decay'");
    expect(() => new SGD(7 as never)).toThrow('SGD: params must be an iterable of tensors, got 7');
  });
});
