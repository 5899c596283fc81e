import { KilnError } from '@kiln/gpu-runtime';
import { checkArg, checkOptions, show } from '../checks';
import { tensor } from '../creation';
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
 *
 * The factors that change from step to step (the bias corrections, and lr
 * with a schedule) are computed in float64 as PyTorch's are, and enter the
 * update as 0-d tensors rather than constants: a compiled training step
 * then keeps one graph across steps (a constant would be part of the
 * graph, and a new value a new graph to compile).
 */
export class AdamW extends Optimizer<AdamState> {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  /** The factors of the last step (see `factors`). */
  private made: { key: string; values: Tensor[] } | null = null;

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
    const [decay, stepSize, correction] = this.factors(s.step, p.device);
    const denom = s.v.sqrt().div(correction).add(this.eps);
    return p.mul(decay).sub(s.m.div(denom).mul(stepSize));
  }

  /** The step's factors as 0-d tensors, shared by the parameters that are at the same step (made again once a step's tidy freed them). */
  private factors(step: number, device: Tensor['device']): Tensor[] {
    const [b1, b2] = this.betas;
    const key = `${step} ${this.lr} ${this.weightDecay} ${device}`;
    if (this.made?.key !== key || this.made.values.some((t) => t.isDisposed)) {
      const values = [1 - this.lr * this.weightDecay, this.lr / (1 - b1 ** step), Math.sqrt(1 - b2 ** step)];
      this.made = { key, values: values.map((x) => tensor(x, { device })) };
    }
    return this.made.values;
  }
}
