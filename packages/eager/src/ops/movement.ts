/**
 * Movement ops: each is a rule from an input View to an output View, shared
 * by eager (where the result shares the input's storage) and the inductor
 * (where it becomes index arithmetic). A rule returns null when the result
 * cannot be a view of the input; eager then copies the input to a
 * contiguous buffer first, unless the op is `view`, which refuses.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { View } from '../view';
import {
  asStrided,
  contiguousView,
  expand,
  flattenShape,
  inferShape,
  isContiguous,
  permute,
  reshape,
  shapeStr,
  slice,
  squeeze,
  transpose,
  unsqueeze,
} from '../view';

export interface MovementAttrs {
  reshape: { shape: readonly number[] };
  view: { shape: readonly number[] };
  permute: { dims: readonly number[] };
  transpose: { dim0: number; dim1: number };
  unsqueeze: { dim: number };
  squeeze: { dim: readonly number[] | null };
  expand: { shape: readonly number[] };
  flatten: { startDim: number; endDim: number };
  slice: { dim: number; start: number; end: number; step: number };
  contiguous: Record<string, never>;
  /** A strided view of a 1-D tensor's elements (what functionalization reads a written storage through). */
  asStrided: { shape: readonly number[]; strides: readonly number[]; offset: number };
}

export type MovementOp = keyof MovementAttrs;

export type MovementRule<N extends MovementOp> = (v: View, attrs: MovementAttrs[N]) => View | null;

export const MOVEMENT: { [N in MovementOp]: MovementRule<N> } = {
  reshape: (v, a) => reshape(v, inferShape('reshape', v.shape, a.shape)),
  view: (v, a) => {
    const out = reshape(v, inferShape('view', v.shape, a.shape));
    if (out) return out;
    throw new KilnError(
      `a tensor of shape ${shapeStr(v.shape)} and strides ${shapeStr(v.strides)} cannot be viewed as ${shapeStr(a.shape)} without a copy; use reshape`,
      { op: 'view' },
    );
  },
  permute: (v, a) => permute('permute', v, a.dims),
  transpose: (v, a) => transpose('transpose', v, a.dim0, a.dim1),
  unsqueeze: (v, a) => unsqueeze('unsqueeze', v, a.dim),
  squeeze: (v, a) => squeeze('squeeze', v, a.dim),
  expand: (v, a) => expand('expand', v, a.shape),
  flatten: (v, a) => reshape(v, flattenShape('flatten', v.shape, a.startDim, a.endDim)),
  slice: (v, a) => slice('slice', v, a.dim, a.start, a.end, a.step),
  contiguous: (v) => (isContiguous(v) ? v : null),
  asStrided: (v, a) => asStrided('asStrided', v, a.shape, a.strides, a.offset),
};

/** The output shape of a movement op (applied to a contiguous view, where every rule succeeds). */
export function movementShape<N extends MovementOp>(op: N, shape: readonly number[], attrs: MovementAttrs[N]): readonly number[] {
  const rule: MovementRule<N> = MOVEMENT[op];
  return rule(contiguousView(shape), attrs)!.shape;
}
