/** Free-function forms of multi-input ops (PyTorch's torch.cat, torch.where, ...). */
import { check, checkArg } from './checks';
import { dispatch } from './dispatch';
import type { Scalar } from './dtype';
import type { Tensor } from './tensor';
import { splitTensor } from './tensor';

const TENSOR_LIST = check<readonly Tensor[]>('a list of tensors', Array.isArray);

/** Joins tensors along an existing dim; dtypes promote. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return dispatch('cat', checkArg('cat', 'tensors', tensors, TENSOR_LIST), { dim });
}

/** Joins equally shaped tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return dispatch('stack', checkArg('stack', 'tensors', tensors, TENSOR_LIST), { dim });
}

/** Elements of `a` where the bool `cond` holds, else of `b`; all three broadcast. */
export function where(cond: Tensor, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  return dispatch('where', [cond, a, b], {});
}

/** Matrix product with PyTorch's rules: batched and broadcasting, 1-D operands as vectors. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return dispatch('matmul', [a, b], {});
}

/** Pieces of `t` along `dim`: of `sizes` each (the last may be smaller), or of the listed sizes. */
export function split(t: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  return splitTensor(t, sizes, dim);
}
