/**
 * cpu matmul. Per batch, four rows of A at a time sweep B row by row
 * (i-k-j order): each B element loaded feeds four accumulator rows, and the
 * inner loop runs over contiguous memory. B is packed to a contiguous
 * buffer first when its rows are strided (e.g. a transposed weight).
 * Accumulation is in float64 for float32 (one rounding at the end) and
 * wraps in int32 for int32.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { TensorRef } from '../backend';
import type { TypedArray } from '../dtype';
import { hostDataOf } from '../kernels/storage';
import type { View } from '../view';
import { isContiguous, numelOf } from '../view';

interface Mat {
  data: TypedArray;
  offset: number;
  rowStride: number;
  colStride: number;
}

const ROWS = 4;

function floatBlock(a: Mat, b: Mat, out: Float32Array, oOff: number, M: number, K: number, N: number, acc: Float64Array): void {
  const A = a.data;
  const B = b.data;
  for (let i0 = 0; i0 < M; i0 += ROWS) {
    const rows = Math.min(ROWS, M - i0);
    acc.fill(0);
    const r0 = a.offset + i0 * a.rowStride;
    const rs = a.rowStride;
    for (let k = 0; k < K; k++) {
      const ak = r0 + k * a.colStride;
      // Missing rows of the last block multiply by 0 rather than branch in the inner loop.
      const a0 = A[ak];
      const a1 = rows > 1 ? A[ak + rs] : 0;
      const a2 = rows > 2 ? A[ak + 2 * rs] : 0;
      const a3 = rows > 3 ? A[ak + 3 * rs] : 0;
      const bk = b.offset + k * b.rowStride;
      for (let j = 0; j < N; j++) {
        const bv = B[bk + j];
        acc[j] += a0 * bv;
        acc[N + j] += a1 * bv;
        acc[2 * N + j] += a2 * bv;
        acc[3 * N + j] += a3 * bv;
      }
    }
    for (let r = 0; r < rows; r++) out.set(acc.subarray(r * N, r * N + N), oOff + (i0 + r) * N);
  }
}

function intBlock(a: Mat, b: Mat, out: Int32Array, oOff: number, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const row = oOff + i * N;
    for (let k = 0; k < K; k++) {
      const av = a.data[a.offset + i * a.rowStride + k * a.colStride];
      const bk = b.offset + k * b.rowStride;
      for (let j = 0; j < N; j++) out[row + j] = (out[row + j] + Math.imul(av, b.data[bk + j])) | 0;
    }
  }
}

/** B of one batch with unit column stride: itself when it already has one, else a packed copy. */
function rowMajor(data: TypedArray, offset: number, rowStride: number, colStride: number, K: number, N: number): Mat {
  if (colStride === 1 || N === 1) return { data, offset, rowStride, colStride: 1 };
  const packed = new (data.constructor as new (n: number) => TypedArray)(K * N);
  for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) packed[k * N + j] = data[offset + k * rowStride + j * colStride];
  return { data: packed, offset: 0, rowStride: N, colStride: 1 };
}

/** Storage offset of each matrix of a view whose last two dims are the matrix, in row-major batch order. */
function batchOffsets(v: View): number[] {
  let offsets = [v.offset];
  for (let d = 0; d < v.shape.length - 2; d++) {
    const next: number[] = [];
    for (const base of offsets) for (let i = 0; i < v.shape[d]; i++) next.push(base + i * v.strides[d]);
    offsets = next;
  }
  return offsets;
}

export function matmul(a: TensorRef, b: TensorRef, out: TensorRef): void {
  const shape = out.view.shape;
  const [M, N] = [shape.at(-2)!, shape.at(-1)!];
  const K = a.view.shape.at(-1)!;
  const O = hostDataOf(out.storage);
  const nb = numelOf(shape.slice(0, -2));
  if (numelOf(shape) === 0) return;
  if (!isContiguous(out.view)) throw new KilnError('the output must be contiguous', { op: 'matmul' });
  O.fill(0, out.view.offset, out.view.offset + numelOf(shape));
  if (K === 0) return;
  const aOff = batchOffsets(a.view);
  const bOff = batchOffsets(b.view);
  const [ars, acs] = a.view.strides.slice(-2) as [number, number];
  const [brs, bcs] = b.view.strides.slice(-2) as [number, number];
  const acc = new Float64Array(ROWS * N);
  let bm: Mat | undefined;
  for (let i = 0; i < nb; i++) {
    const am: Mat = { data: hostDataOf(a.storage), offset: aOff[i], rowStride: ars, colStride: acs };
    // A broadcast B (e.g. one weight for a batch) is packed once.
    if (i === 0 || bOff[i] !== bOff[i - 1]) bm = rowMajor(hostDataOf(b.storage), bOff[i], brs, bcs, K, N);
    const o = out.view.offset + i * M * N;
    if (O instanceof Float32Array) floatBlock(am, bm!, O, o, M, K, N, acc);
    else intBlock(am, bm!, O as Int32Array, o, M, K, N);
  }
}
