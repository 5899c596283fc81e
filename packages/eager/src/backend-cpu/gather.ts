import { assertSite, indexError } from '@kiln/gpu-runtime';
import type { TensorRef } from '../backend';
import { hostDataOf } from '../kernels/storage';
import { numelOf } from '../view';

/**
 * out[i...] = input[i... with i[dim] = index[i...]], walking the output's
 * multi-index with an odometer so that input and index are read through
 * their strides.
 */
export function gather(input: TensorRef, index: TensorRef, out: TensorRef, dim: number, op: string): void {
  const shape = out.view.shape;
  const n = numelOf(shape);
  const rank = shape.length;
  const [X, I, O] = [hostDataOf(input.storage), hostDataOf(index.storage), hostDataOf(out.storage)];
  const xs = input.view.strides;
  const is = index.view.strides;
  const size = input.view.shape[dim] ?? 1;
  const idx = new Array<number>(rank).fill(0);
  let xo = input.view.offset;
  let io = index.view.offset;
  for (let i = 0; i < n; i++) {
    const j = I[io];
    if (!(j >= 0 && j < size)) throw indexError(assertSite(op, dim), j, size);
    O[out.view.offset + i] = X[xo + j * (xs[dim] ?? 0)];
    // Advance the odometer; the dim being gathered contributes through j, not through xo.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      if (d !== dim) xo += xs[d];
      io += is[d];
      if (idx[d] < shape[d]) break;
      if (d !== dim) xo -= xs[d] * shape[d];
      io -= is[d] * shape[d];
      idx[d] = 0;
    }
  }
}
