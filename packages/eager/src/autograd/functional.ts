/**
 * JAX's functional form of autograd: `grad(fn)` is a function giving the
 * gradient of `fn`'s one-element result with respect to its arguments
 * (argument 0 unless `argnums` says otherwise). The arguments are taken as
 * fresh leaves, so no `.grad` anywhere changes; the forward pass's
 * intermediates are freed before it returns (it runs in a tidy).
 */
import { KilnError } from '@kiln/gpu-runtime';
import { show } from '../checks';
import { zeros } from '../creation';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { backwardGradients } from './backward';
import { enableGrad } from './grad-mode';
import type { LeafEdge } from './node';
import { edgeOf, setRequiresGrad } from './state';

/** Which arguments to differentiate with respect to: one position (the gradient is a Tensor) or several (an array). */
export type Argnums = number | readonly number[];

export interface GradOptions {
  argnums?: Argnums;
}

type Fn<A extends unknown[]> = (...args: A) => Tensor;

/** `argnums` given bare (`grad(f, 1)`) or as an option (`grad(f, { argnums: 1 })`). */
function positionsOf(op: string, options: Argnums | GradOptions | undefined): { positions: number[]; single: boolean } {
  const argnums = typeof options === 'object' && !Array.isArray(options) ? (options as GradOptions).argnums : (options as Argnums);
  const list = argnums === undefined ? [0] : typeof argnums === 'number' ? [argnums] : argnums;
  const ok =
    Array.isArray(list) && list.length > 0 && list.every((i) => Number.isInteger(i) && i >= 0) && new Set(list).size === list.length;
  if (!ok) throw new KilnError(`argnums must be a non-negative integer or a list of distinct ones, got ${show(argnums)}`, { op });
  return { positions: [...list], single: !Array.isArray(argnums) };
}

/** fn's value at `args` and its gradients with respect to the arguments at `positions`. */
function evaluate(
  op: string,
  fn: (...args: unknown[]) => Tensor,
  args: unknown[],
  positions: number[],
): { value: Tensor; grads: Tensor[] } {
  for (const i of positions) {
    const x = args[i];
    if (!(x instanceof Tensor) || x.dtype !== 'float32') {
      throw new KilnError(`argument ${i} must be a float32 Tensor to differentiate with respect to it, got ${show(x)}`, { op });
    }
  }
  return enableGrad(() =>
    tidy(() => {
      const leaves = positions.map((i) => {
        const leaf = (args[i] as Tensor).detach();
        setRequiresGrad(leaf, true);
        return leaf;
      });
      const value = fn(...args.map((a, i) => (positions.includes(i) ? leaves[positions.indexOf(i)] : a)));
      if (!(value instanceof Tensor) || value.numel !== 1 || value.dtype !== 'float32') {
        throw new KilnError(`fn must return a one-element float32 Tensor (the value to differentiate), got ${show(value)}`, { op });
      }
      const got = backwardGradients(
        value,
        leaves.map((l) => edgeOf(l) as LeafEdge),
      );
      // No path from an argument to the value: its gradient is zero (as in JAX).
      const grads = got.map((g, k) => g ?? zeros(leaves[k]!.shape, { device: leaves[k]!.device }));
      return { value: value.detach(), grads };
    }),
  );
}

/**
 * JAX's `grad`: `grad(fn)(...args)` is the gradient of fn's one-element
 * result with respect to argument 0; `argnums` picks others (a list gives
 * a list of gradients).
 */
export function grad<A extends unknown[]>(fn: Fn<A>, argnums?: number | { argnums?: number }): (...args: A) => Tensor;
export function grad<A extends unknown[]>(fn: Fn<A>, argnums: readonly number[] | { argnums: readonly number[] }): (...args: A) => Tensor[];
export function grad<A extends unknown[]>(fn: Fn<A>, argnums?: Argnums | GradOptions): (...args: A) => Tensor | Tensor[] {
  const { positions, single } = positionsOf('grad', argnums);
  return (...args) => {
    const { value, grads } = evaluate('grad', fn as (...a: unknown[]) => Tensor, args, positions);
    value.dispose();
    return single ? grads[0]! : grads;
  };
}

/** JAX's `value_and_grad`: `[value, gradient]` (a list of gradients for a list of argnums). */
export function valueAndGrad<A extends unknown[]>(fn: Fn<A>, argnums?: number | { argnums?: number }): (...args: A) => [Tensor, Tensor];
export function valueAndGrad<A extends unknown[]>(
  fn: Fn<A>,
  argnums: readonly number[] | { argnums: readonly number[] },
): (...args: A) => [Tensor, Tensor[]];
export function valueAndGrad<A extends unknown[]>(fn: Fn<A>, argnums?: Argnums | GradOptions): (...args: A) => [Tensor, Tensor | Tensor[]] {
  const { positions, single } = positionsOf('valueAndGrad', argnums);
  return (...args) => {
    const { value, grads } = evaluate('valueAndGrad', fn as (...a: unknown[]) => Tensor, args, positions);
    return [value, single ? grads[0]! : grads];
  };
}
