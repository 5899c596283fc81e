/**
 * `pnpm bench`: kiln's main job. Finds the WebGPU device (or says why there
 * is none), measures the device's floors, and — as the benchmarks issue lands
 * — runs the A/B workloads (eager vs compiled vs peers) and prints the table.
 */
import { probeWebGpu } from '@kiln/gpu-runtime';
import { measureDeviceFloors, printDeviceFloors } from './device.bench';

const gpu = await probeWebGpu();
if (gpu.runtime) {
  const info = gpu.runtime.adapterInfo;
  console.log(`WebGPU device: ${info.description || info.device} (vendor ${info.vendor || '?'}, ${info.isSoftware ? 'software' : 'hardware'})`);
  console.log(`features: ${[...gpu.runtime.features].join(', ') || 'none'}`);
  console.log('measuring device floors (dispatch cost, readback, bandwidth)...');
  printDeviceFloors(await measureDeviceFloors(gpu.runtime));
} else {
  console.log(`no WebGPU device: ${gpu.reason}; only the cpu columns can run`);
}
process.exit(0);
