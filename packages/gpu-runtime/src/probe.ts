import { type GpuRuntime, getRuntime } from './runtime';

export type WebGpuProbe = { runtime: GpuRuntime; reason?: undefined } | { runtime?: undefined; reason: string };

/**
 * For tests and tools that run on WebGPU when it is there: the runtime, or
 * why there is none. Under CI (`CI=true`) a missing adapter is an error,
 * never a reason to skip.
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  try {
    return { runtime: await getRuntime() };
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(`[kiln] WebGPU tests skipped: ${reason}`);
    return { reason: `WebGPU unavailable: ${reason}` };
  }
}
