/**
 * Which kernels the cpu device runs, eager and compiled alike (so the two
 * sum a matmul in the same order): WebAssembly SIMD where the engine has
 * it, else JavaScript, unless KILN_CPU_TARGET names one.
 */
import { KilnError } from '@kiln/gpu-runtime';
import { simdAvailable } from './simd-probe';

/** The environment variable that picks the cpu kernels: `js` or `wasm`. */
export const CPU_TARGET_ENV = 'KILN_CPU_TARGET';

export function cpuKernelKind(): 'wasm' | 'js' {
  const chosen = typeof process === 'undefined' ? undefined : process.env[CPU_TARGET_ENV];
  if (chosen === 'js') return 'js';
  if (chosen !== undefined && chosen !== 'wasm') throw new KilnError(`${CPU_TARGET_ENV} must be js or wasm, got '${chosen}'`);
  if (simdAvailable()) return 'wasm';
  if (chosen === 'wasm') throw new KilnError(`${CPU_TARGET_ENV}=wasm, but this engine has no WebAssembly SIMD`);
  return 'js';
}
