/**
 * Typed arrays of freed cpu storages, kept for the next allocation of the
 * same dtype and length (zeroed again, as a new array is). A new large
 * array's memory comes from the system page by page on first touch, which
 * on some machines costs more than the op writing it (4 MB: 0.5 to 40 ms
 * here); a kept one costs a fill. A new small one (past the 64 bytes V8
 * keeps on its heap) is an ArrayBuffer with memory of its own, about 1 us
 * to make and more work for the collector: a small op's whole kernel.
 * Arrays under MIN_BYTES are left to the garbage collector, and at most
 * MAX_BYTES are kept (the rest is dropped): memory the process holds beyond
 * what memoryStats() counts as live.
 */
import { DTYPES, type DType, dtypeOfArray, type TypedArray } from '../dtype';

const MIN_BYTES = 128;
const MAX_BYTES = 1 << 27;

/** Per dtype, the kept arrays by length. */
const kept = Object.fromEntries(DTYPES.map((d) => [d, new Map<number, TypedArray[]>()])) as Record<DType, Map<number, TypedArray[]>>;
let keptBytes = 0;

/** A kept array of `dtype` and `length`, zeroed; undefined when none is kept. */
export function reusedArray(dtype: DType, length: number): TypedArray | undefined {
  // Every allocation asks: an integer test first, for the small ones no dtype can make large enough.
  if (keptBytes === 0 || length < MIN_BYTES / 4) return undefined;
  const array = kept[dtype].get(length)?.pop();
  if (!array) return undefined;
  keptBytes -= array.byteLength;
  return array.fill(0);
}

/** Keeps the array of a freed storage for reuse, when it is large enough and the pool has room. */
export function keepForReuse(array: TypedArray): void {
  if (array.byteLength < MIN_BYTES || keptBytes + array.byteLength > MAX_BYTES) return;
  const byLength = kept[dtypeOfArray(array)];
  const list = byLength.get(array.length);
  if (list) list.push(array);
  else byLength.set(array.length, [array]);
  keptBytes += array.byteLength;
}
