/**
 * Where a cpu storage's typed array comes from. float32 storages of 64 KiB
 * and up live in the shared wasm arena when the cpu kernels are wasm:
 * eager's wasm matmul and the compiled graphs' wasm kernels then read and
 * write them in place, with no copy into the arena and back. Other large
 * arrays come from the pool of freed ones (./array-pool), the rest are new.
 */
import { allocArray, type DType, dtypeOfArray, type TypedArray } from '../dtype';
import { sharedArena } from '../kernels/wasm/arena';
import { cpuKernelKind } from '../kernels/wasm/cpu-kernels';
import { ARENA_MEMORY } from '../kernels/wasm/wasm-api';
import { keepForReuse, reusedArray } from './array-pool';

/** Elements from which a float32 storage lives in the arena (smaller ones copy in and out for nothing worth saving). */
const ARENA_MIN_ELEMENTS = 1 << 14;

/** A zeroed arena array for a storage of `numel` elements of `dtype`, where one belongs in the arena and fits. */
function arenaArray(dtype: DType, numel: number): Float32Array | undefined {
  return dtype === 'float32' && numel >= ARENA_MIN_ELEMENTS && cpuKernelKind() === 'wasm' ? sharedArena().array(numel) : undefined;
}

/** A zeroed array for a new storage of `numel` elements of `dtype`. */
export function newHostArray(dtype: DType, numel: number): TypedArray {
  return arenaArray(dtype, numel) ?? reusedArray(dtype, numel) ?? allocArray(dtype, numel);
}

/** A new storage's copy of `data`: in the arena where it belongs there, else a plain copy (one pass, no zeroing first). */
export function copiedHostArray(data: TypedArray): TypedArray {
  const inArena = arenaArray(dtypeOfArray(data), data.length);
  if (!inArena) return data.slice();
  inArena.set(data);
  return inArena;
}

/** Gives back the array of a freed storage. */
export function freeHostArray(data: TypedArray): void {
  // Only arena arrays are on a SharedArrayBuffer (which a page that is not cross-origin isolated lacks):
  // the test keeps the JS target from making an arena.
  if (ARENA_MEMORY.shared && data.buffer instanceof SharedArrayBuffer && sharedArena().owns(data)) sharedArena().free(data.byteOffset);
  else keepForReuse(data);
}
