/**
 * Which target compiles a device's graphs. Like eager's backend registry
 * (getBackend in @kiln/eager's backend.ts), the runtime asks by device and
 * never names a target; unlike it, the table is total over `Device`, so a
 * device eager adds without a target here fails the type check instead of
 * the first compile. A new target is its folder and its row.
 */
import type { Device } from '@kiln/eager';
import { cpuKernelKind } from '@kiln/eager/kernels';
import { jsTarget } from './js/js-target';
import type { Target } from './target';
import { wasmTarget } from './wasm/wasm-target';
import { webGpuTarget } from './webgpu/webgpu-target';

/** cpu: the wasm target when the engine has WebAssembly SIMD, else JS, unless KILN_CPU_TARGET names one (eager's cpu kernels choose alike). */
const cpuTarget = (): Target => (cpuKernelKind() === 'wasm' ? wasmTarget() : jsTarget());

/** Each device's target, made per compiled graph (webgpu's binds the runtime initialized at that time). */
const TARGETS: Record<Device, () => Target> = {
  cpu: cpuTarget,
  webgpu: webGpuTarget,
};

/** The target for `device`; a KilnError when the device is not initialized (webgpu before initWebGpu()). */
export function targetFor(device: Device): Target {
  return TARGETS[device]();
}
