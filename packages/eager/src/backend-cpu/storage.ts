import type { Storage, TensorRef } from '../backend';
import type { TypedArray } from '../dtype';

/** A cpu storage: the typed array holding its elements (bool as 0/1 bytes). */
export interface CpuStorage extends Storage {
  readonly data: TypedArray;
}

export function dataOf(ref: TensorRef): TypedArray {
  return (ref.storage as CpuStorage).data;
}
