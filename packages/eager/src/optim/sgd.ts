import { checkArg, checkOptions } from '../checks';
import type { Tensor } from '../tensor';
import { NON_NEGATIVE, Optimizer } from './optimizer';

export interface SgdOptions {
  /** Learning rate (default 1e-3, as PyTorch). */
  lr?: number;
  /** Momentum factor (default 0: plain SGD). */
  momentum?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * PyTorch's `optim.SGD` (no dampening, no Nesterov): d = g + weightDecay p;
 * with momentum, b = momentum b + d (b = d at the first step) and d = b;
 * then p -= lr d.
 */
export class SGD extends Optimizer<{ buf: Tensor | null }> {
  lr: number;
  momentum: number;
  weightDecay: number;

  constructor(params: Iterable<Tensor>, options: SgdOptions = {}) {
    super('SGD', params);
    const o = checkOptions('SGD', options, ['lr', 'momentum', 'weightDecay']);
    this.lr = o.lr === undefined ? 1e-3 : checkArg('SGD', 'lr', o.lr, NON_NEGATIVE);
    this.momentum = o.momentum === undefined ? 0 : checkArg('SGD', 'momentum', o.momentum, NON_NEGATIVE);
    this.weightDecay = o.weightDecay === undefined ? 0 : checkArg('SGD', 'weightDecay', o.weightDecay, NON_NEGATIVE);
  }

  protected init(): { buf: Tensor | null } {
    return { buf: null };
  }

  protected update(p: Tensor, g: Tensor, s: { buf: Tensor | null }): Tensor {
    let d = this.weightDecay === 0 ? g : g.add(p.mul(this.weightDecay));
    if (this.momentum !== 0) {
      s.buf = Optimizer.store(s.buf, s.buf === null ? d : s.buf.mul(this.momentum).add(d));
      d = s.buf;
    }
    return p.sub(d.mul(this.lr));
  }
}
