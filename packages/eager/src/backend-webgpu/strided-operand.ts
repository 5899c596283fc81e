import type { DType } from '../dtype';
import type { View } from '../view';
import { FLOAT_PRELUDE } from '../wgsl';

/** A tensor as a kernel sees it: a buffer and a strided view into it (in elements). */
export interface StridedOperand extends View {
  buffer: GPUBuffer;
  dtype: DType;
}

/**
 * The start of every eager kernel: its metadata words (sizes, strides,
 * offsets), read by `info(i)` and packed four to a vec4 so the array fits
 * WebGPU's 16-byte uniform array stride; and the float helpers (../wgsl
 * FLOAT_PRELUDE; the entry point runs OPAQUE_ZERO_INIT first).
 */
export function kernelPrelude(words: number): string {
  const vecs = Math.max(1, Math.ceil(words / 4));
  return `${FLOAT_PRELUDE}
struct Info { v: array<vec4u, ${vecs}> }
@group(0) @binding(0) var<uniform> info_: Info;
fn info(i: u32) -> u32 { return info_.v[i / 4u][i % 4u]; }`;
}

/** Number of workgroups for a grid-stride loop over `items` with `size` threads each. */
export function gridFor(items: number, size: number, maxWorkgroups = 1024): number {
  return Math.max(1, Math.min(maxWorkgroups, Math.ceil(items / size)));
}
