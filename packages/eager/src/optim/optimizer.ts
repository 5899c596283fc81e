/**
 * The optimizer base: a list of leaf parameters, `zeroGrad()`, and a `step()`
 * that updates each parameter with a gradient, in place (its identity and
 * its views stay valid), without recording and inside a tidy. Per-parameter
 * state (momentum, moments) is kept out of any enclosing tidy: it lives as
 * long as the optimizer.
 */
import { KilnError } from '@kiln/gpu-runtime';
import { noGrad } from '../autograd/grad-mode';
import { check, checkArg, show } from '../checks';
import { keep, tidy } from '../memory';
import { Tensor } from '../tensor';

/** A hyperparameter that must be a number >= 0. */
export const NON_NEGATIVE = check<number>('a number >= 0', (v) => typeof v === 'number' && v >= 0);

export abstract class Optimizer<S> {
  readonly params: readonly Tensor[];
  private readonly state = new Map<Tensor, S>();

  constructor(op: string, params: Iterable<Tensor>) {
    const list = checkArg(
      op,
      'params',
      params,
      check<Iterable<Tensor>>('an iterable of tensors', (v) => typeof v === 'object' && v !== null && Symbol.iterator in v),
    );
    this.params = [...list];
    if (this.params.length === 0) throw new KilnError('got an empty list of parameters', { op });
    this.params.forEach((p, i) => {
      if (!(p instanceof Tensor) || p.isDisposed || p.dtype !== 'float32' || !p.isLeaf) {
        throw new KilnError(
          `parameter ${i} must be a live float32 leaf tensor, got ${show(p)}${p instanceof Tensor && !p.isLeaf ? ' (a non-leaf)' : ''}`,
          { op },
        );
      }
      if (this.params.indexOf(p) !== i) throw new KilnError(`parameter ${i} appears twice (also at ${this.params.indexOf(p)})`, { op });
    });
  }

  /** Clears every parameter's gradient (`p.grad = null`, freeing the gradients backward made). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** One update of every parameter that has a gradient; parameters without one are left alone. */
  step(): void {
    noGrad(() =>
      tidy(() => {
        for (const p of this.params) {
          const g = p.grad;
          if (g === null || p.isDisposed) continue;
          let s = this.state.get(p);
          if (s === undefined) this.state.set(p, (s = this.init(p)));
          p.copy_(this.update(p, g, s));
        }
      }),
    );
  }

  /** A parameter's state before its first update (tensors in it are kept: they outlive tidy). */
  protected abstract init(p: Tensor): S;
  /** The parameter's new value; updates `s` (in place for tensors, `keep` for new ones). */
  protected abstract update(p: Tensor, g: Tensor, s: S): Tensor;

  /** `t`'s value written into the state tensor `into` (made on first use): state outlives every tidy. */
  protected static store(into: Tensor | null, t: Tensor): Tensor {
    if (into === null) return keep(t.clone());
    into.copy_(t);
    return into;
  }
}
