import { KilnError } from '@kiln/gpu-runtime';
import { checkArg, checkOptions, show } from '../checks';
import type { Tensor } from '../tensor';
import { NON_NEGATIVE, Optimizer } from './optimizer';

export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 1e-2). */
  weightDecay?: number;
}

interface AdamState {
  step: number;
  m: Tensor | null;
  v: Tensor | null;
}

/**
 * PyTorch's `optim.AdamW` (no amsgrad): p *= 1 - lr weightDecay;
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²;
 * p -= lr / (1 - b1^t) · m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
export class AdamW extends Optimizer<AdamState> {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;

  constructor(params: Iterable<Tensor>, options: AdamWOptions = {}) {
    super('AdamW', params);
    const o = checkOptions('AdamW', options, ['lr', 'betas', 'eps', 'weightDecay']);
    this.lr = o.lr === undefined ? 1e-3 : checkArg('AdamW', 'lr', o.lr, NON_NEGATIVE);
    this.eps = o.eps === undefined ? 1e-8 : checkArg('AdamW', 'eps', o.eps, NON_NEGATIVE);
    this.weightDecay = o.weightDecay === undefined ? 1e-2 : checkArg('AdamW', 'weightDecay', o.weightDecay, NON_NEGATIVE);
    const betas = o.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
      throw new KilnError(`betas must be two numbers in [0, 1), got ${show(betas)}`, { op: 'AdamW' });
    }
    this.betas = [betas[0], betas[1]];
  }

  protected init(): AdamState {
    return { step: 0, m: null, v: null };
  }

  protected update(p: Tensor, g: Tensor, s: AdamState): Tensor {
    const [b1, b2] = this.betas;
    s.step++;
    s.m = Optimizer.store(s.m, s.m === null ? g.mul(1 - b1) : s.m.mul(b1).add(g.mul(1 - b1)));
    s.v = Optimizer.store(s.v, s.v === null ? g.square().mul(1 - b2) : s.v.mul(b2).add(g.square().mul(1 - b2)));
    const stepSize = this.lr / (1 - b1 ** s.step);
    const denom = s.v
      .sqrt()
      .div(Math.sqrt(1 - b2 ** s.step))
      .add(this.eps);
    return p.mul(1 - this.lr * this.weightDecay).sub(s.m.div(denom).mul(stepSize));
  }
}
