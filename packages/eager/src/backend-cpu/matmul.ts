/**
 * The cpu matmul. float32 runs the kernel layer's WebAssembly SIMD gemm
 * (float32 sums, rows split over threads), the one compiled cpu graphs run,
 * where the cpu kernels are wasm (../kernels/wasm/cpu-kernels); otherwise,
 * and for int32, the JS matmul template (../kernels, float64 sums for
 * float32) built once per dtype. Both take each batch's matrix offsets (a
 * broadcast operand repeats one).
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { TensorRef } from '../backend';
import type { TypedArray } from '../dtype';
import { jsKernel } from '../kernels/js-kernels';
import { renderMatmulJs } from '../kernels/matmul-js';
import { hostDataOf } from '../kernels/storage';
import type { WasmArena } from '../kernels/wasm/arena';
import { sharedArena } from '../kernels/wasm/arena';
import { cpuKernelKind } from '../kernels/wasm/cpu-kernels';
import { gemm } from '../kernels/wasm/matmul';
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

/**
 * The byte offset where element 0 of `ref`'s storage is in the arena: the
 * storage's own place when it lives there, else a copy of the part its view
 * reads.
 */
function stage(arena: WasmArena, ref: TensorRef): number {
  const data = hostDataOf(ref.storage) as Float32Array;
  if (arena.owns(data)) return data.byteOffset;
  const { shape, strides, offset } = ref.view;
  let [lo, hi] = [offset, offset];
  shape.forEach((n, d) => {
    const reach = (n - 1) * strides[d]!;
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  const at = arena.put(data.subarray(lo, hi + 1));
  return at - 4 * lo;
}

/** float32 on the wasm gemm: operands and C where they live in the arena, else staged through it (C copied back). */
function matmulWasm(a: TensorRef, b: TensorRef, out: TensorRef, M: number, N: number, K: number): void {
  const arena = sharedArena();
  arena.reset();
  const [pa, pb] = [stage(arena, a), stage(arena, b)];
  const [aOffsets, bOffsets] = [batchOffsets(a.view), batchOffsets(b.view)];
  const outData = hostDataOf(out.storage);
  const inPlace = arena.owns(outData);
  const c = inPlace ? outData.byteOffset + 4 * out.view.offset : arena.alloc(aOffsets.length * M * N);
  const strides = (v: View) => [v.strides.at(-2)!, v.strides.at(-1)!] as const;
  aOffsets.forEach((ao, bt) => {
    const call = { c: c + 4 * bt * M * N, M, N, K };
    gemm(arena, {
      a: { ptr: pa + 4 * ao, strides: strides(a.view) },
      b: { ptr: pb + 4 * bOffsets[bt]!, strides: strides(b.view) },
      ...call,
    });
  });
  if (!inPlace) outData.set(arena.f32(c, aOffsets.length * M * N), out.view.offset);
}

export function matmul(a: TensorRef, b: TensorRef, out: TensorRef): void {
  const shape = out.view.shape;
  if (numelOf(shape) === 0) return;
  if (!isContiguous(out.view)) throw new KilnError('the output must be contiguous', { op: 'matmul' });
  const [M, N] = [shape.at(-2)!, shape.at(-1)!];
  const K = a.view.shape.at(-1)!;
  if (out.storage.dtype === 'float32' && K > 0 && cpuKernelKind() === 'wasm') {
    matmulWasm(a, b, out, M, N, K);
    return;
  }
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
