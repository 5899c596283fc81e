/**
 * The one cache of JavaScript kernels built with `new Function`: eager's
 * cpu loops (keyed by a short signature of op, dtypes and rank, so the
 * per-op path renders nothing) and the compiler's JS kernels (keyed by
 * their source text).
 */
import { LruCache } from '@kiln/gpu-runtime';

/** Any kernel: callers name their own signature. */
type Built = (...args: never[]) => unknown;

/**
 * Kernels kept. Eager's keys name no sizes, so a program meets few; a
 * compiled graph holds its own kernels, so for those the bound only limits
 * sharing between compiles (a program whose constants change on every call
 * would otherwise keep every kernel it ever built). A dropped kernel is
 * built again from its source when asked for.
 */
export const JS_KERNEL_LIMIT = 512;
export const jsKernels = new LruCache<string, Built>(JS_KERNEL_LIMIT);

/** The kernel `source` (a function body returning it) defines, built once per `key` while kept. */
export function jsKernel<F extends Built>(key: string, source: () => string): F {
  return jsKernels.getOrSet(key, () => new Function(`"use strict";\n${source()}`)() as Built) as F;
}
