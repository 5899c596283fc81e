import type { DType } from '../dtype';
import type { View } from '../view';

/** A tensor as a kernel sees it: a buffer and a strided view into it (in elements). */
export interface StridedOperand extends View {
  buffer: GPUBuffer;
  dtype: DType;
}
