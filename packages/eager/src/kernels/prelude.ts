/**
 * The start of every WGSL kernel, eager's and the compiler's: the float
 * helpers (../wgsl FLOAT_PRELUDE; every entry point runs OPAQUE_ZERO_INIT
 * first) and the metadata words (sizes, strides, offsets, dynamic sizes,
 * random params) a kernel reads by `info(i)`. And how grid-stride element
 * kernels are launched.
 */
import { FLOAT_PRELUDE } from '../wgsl';

/**
 * The prelude of a kernel reading `words` metadata words from binding 0,
 * packed four to a vec4 so the array fits WebGPU's 16-byte uniform array
 * stride (at least one vec4: the binding exists even when nothing is read).
 */
export function kernelPrelude(words: number): string {
  const vecs = Math.max(1, Math.ceil(words / 4));
  return `${FLOAT_PRELUDE}
struct Info { v: array<vec4u, ${vecs}> }
@group(0) @binding(0) var<uniform> info_: Info;
fn info(i: u32) -> u32 { return info_.v[i / 4u][i % 4u]; }`;
}

/**
 * Threads per workgroup of the grid-stride kernels that give each thread
 * elements (eager's elementwise, gather and fills, the compiler's pointwise
 * kernels).
 */
export const ELEMENT_THREADS = 256;

/** Number of workgroups for a grid-stride loop over `items` with `size` threads each. */
export function gridFor(items: number, size: number, maxWorkgroups = 1024): number {
  return Math.max(1, Math.min(maxWorkgroups, Math.ceil(items / size)));
}
