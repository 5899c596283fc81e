/**
 * Which target compiles a device's graphs. Like eager's backend registry
 * (getBackend in @kiln/eager's backend.ts), the runtime asks by device and
 * never names a target; unlike it, the table is total over `Device`, so a
 * device eager adds without a target here fails the type check instead of
 * the first compile. A new target is its folder and its row.
 */
import { type Device, KilnError } from '@kiln/eager';
import { simdAvailable } from '@kiln/eager/kernels';
import { jsTarget } from './js/js-target';
import type { Target } from './target';
import { wasmTarget } from './wasm/wasm-target';
import { webGpuTarget } from './webgpu/webgpu-target';

/** The environment variable that picks the cpu target: `js` or `wasm`. */
export const CPU_TARGET_ENV = 'KILN_CPU_TARGET';

/** cpu: the wasm target when the engine has WebAssembly SIMD, else JS, unless KILN_CPU_TARGET names one. */
function cpuTarget(): Target {
  const chosen = typeof process === 'undefined' ? undefined : process.env[CPU_TARGET_ENV];
  if (chosen === 'js') return jsTarget();
  if (chosen !== undefined && chosen !== 'wasm') throw new KilnError(`${CPU_TARGET_ENV} must be js or wasm, got '${chosen}'`);
  if (simdAvailable()) return wasmTarget();
  if (chosen === 'wasm') throw new KilnError(`${CPU_TARGET_ENV}=wasm, but this engine has no WebAssembly SIMD`);
  return jsTarget();
}

/** Each device's target, made per compiled graph (webgpu's binds the runtime initialized at that time). */
const TARGETS: Record<Device, () => Target> = {
  cpu: cpuTarget,
  webgpu: webGpuTarget,
};

/** The target for `device`; a KilnError when the device is not initialized (webgpu before initWebGpu()). */
export function targetFor(device: Device): Target {
  return TARGETS[device]();
}
