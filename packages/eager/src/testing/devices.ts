import { probeWebGpu } from '@kiln/gpu-runtime';
import type { Device } from '../backend';
import { initWebGpu } from '../backend-webgpu';

/**
 * The devices the generated suites run on: cpu, plus webgpu when an adapter
 * exists (initialized here). Without one the webgpu half is reported as
 * skipped with the reason; under CI (`CI=true`) a missing adapter fails.
 */
export async function devicesUnderTest(): Promise<Device[]> {
  const gpu = await probeWebGpu();
  if (!gpu.runtime) return ['cpu'];
  await initWebGpu();
  return ['cpu', 'webgpu'];
}
