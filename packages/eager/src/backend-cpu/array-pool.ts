/**
 * Large typed arrays of freed cpu storages, kept for the next allocation of
 * the same dtype and length (zeroed again, as a new array is). A new large
 * array's memory comes from the system page by page on first touch, which
 * on some machines costs more than the op writing it (4 MB: 0.5 to 40 ms
 * here); a kept one costs a fill. Arrays under MIN_BYTES are left to the
 * garbage collector, and at most MAX_BYTES are kept (the rest is dropped):
 * memory the process holds beyond what memoryStats() counts as live.
 */
import { type DType, dtypeOfArray, type TypedArray } from '../dtype';

const MIN_BYTES = 1 << 16;
const MAX_BYTES = 1 << 27;

const kept = new Map<string, TypedArray[]>();
let keptBytes = 0;

const keyOf = (dtype: DType, length: number) => `${dtype}:${length}`;

/** A kept array of `dtype` and `length`, zeroed; undefined when none is kept. */
export function reusedArray(dtype: DType, length: number): TypedArray | undefined {
  // Every allocation asks: an integer test first, no key built, for the small ones no dtype can make large.
  if (keptBytes === 0 || length < MIN_BYTES / 4) return undefined;
  const array = kept.get(keyOf(dtype, length))?.pop();
  if (!array) return undefined;
  keptBytes -= array.byteLength;
  return array.fill(0);
}

/** Keeps the array of a freed storage for reuse, when it is large and the pool has room. */
export function keepForReuse(array: TypedArray): void {
  if (array.byteLength < MIN_BYTES || keptBytes + array.byteLength > MAX_BYTES) return;
  const key = keyOf(dtypeOfArray(array), array.length);
  const list = kept.get(key);
  if (list) list.push(array);
  else kept.set(key, [array]);
  keptBytes += array.byteLength;
}
