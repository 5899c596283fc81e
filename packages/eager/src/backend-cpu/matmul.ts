/**
 * The cpu matmul: the JS matmul template (../kernels) built once per dtype,
 * given each batch's matrix offsets (a broadcast operand repeats one).
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { TensorRef } from '../backend';
import type { TypedArray } from '../dtype';
import { jsKernel } from '../kernels/js-kernels';
import { renderMatmulJs } from '../kernels/matmul-js';
import { hostDataOf } from '../kernels/storage';
import type { View } from '../view';
import { isContiguous, numelOf } from '../view';

type MatmulKernel = (
  A: TypedArray,
  Bsrc: TypedArray,
  O: TypedArray,
  M: number,
  N: number,
  K: number,
  strides: readonly number[],
  aOffsets: readonly number[],
  bOffsets: readonly number[],
  oo: number,
) => void;

function source(elementType: 'float32' | 'int32'): string {
  const body = renderMatmulJs({
    elementType,
    batches: 'aOffsets.length',
    aBase: 'aOffsets[bt]',
    bBase: 'bOffsets[bt]',
    store: (product) => [`O[oo + (bt * M + m) * N + n] = ${product};`],
  });
  return `return function matmul_${elementType}(A, Bsrc, O, M, N, K, strides, aOffsets, bOffsets, oo) {
  const [sam, sak, sbk, sbn] = strides;
${body.map((l) => `  ${l}`).join('\n')}
};`;
}

/** Storage offset of each matrix of a view whose last two dims are the matrix, in row-major batch order. */
function batchOffsets(v: View): number[] {
  let offsets = [v.offset];
  for (let d = 0; d < v.shape.length - 2; d++) {
    const next: number[] = [];
    for (const base of offsets) for (let i = 0; i < v.shape[d]!; i++) next.push(base + i * v.strides[d]!);
    offsets = next;
  }
  return offsets;
}

export function matmul(a: TensorRef, b: TensorRef, out: TensorRef): void {
  const shape = out.view.shape;
  if (numelOf(shape) === 0) return;
  if (!isContiguous(out.view)) throw new KilnError('the output must be contiguous', { op: 'matmul' });
  const [M, N] = [shape.at(-2)!, shape.at(-1)!];
  const K = a.view.shape.at(-1)!;
  const elementType = out.storage.dtype === 'int32' ? 'int32' : 'float32';
  const kernel = jsKernel<MatmulKernel>(`matmul|${elementType}`, () => source(elementType));
  const strides = [...a.view.strides.slice(-2), ...b.view.strides.slice(-2)];
  kernel(
    hostDataOf(a.storage),
    hostDataOf(b.storage),
    hostDataOf(out.storage),
    M,
    N,
    K,
    strides,
    batchOffsets(a.view),
    batchOffsets(b.view),
    out.view.offset,
  );
}
