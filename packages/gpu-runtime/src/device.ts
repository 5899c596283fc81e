import { hostGpu } from '#platform';
import { KilnError } from './errors';
import { checkedSubgroupSize } from './subgroup-layout';

/** Optional device features kiln uses when the adapter offers them. */
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** What was found: the device plus a description fit for reports. */
export interface AcquiredDevice {
  readonly device: GPUDevice;
  readonly adapterInfo: AdapterDescription;
  readonly features: ReadonlySet<OptionalFeature>;
  readonly limits: GPUSupportedLimits;
  /** The subgroup size kiln's subgroup kernels may assume (./subgroup-layout), if any. */
  readonly subgroupSize: number | undefined;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software rasteriser such as Mesa's lavapipe. */
  isSoftware: boolean;
}

/** Why no device could be had, for messages that say what to do. */
export class NoAdapterError extends KilnError {
  constructor(reason: string) {
    super(
      `no WebGPU adapter: ${reason}. On Debian without a GPU run scripts/setup-webgpu.sh ` +
        `(installs Mesa's lavapipe from bookworm-backports); otherwise use device 'cpu'.`,
      { op: 'webgpu' },
    );
  }
}

let pending: Promise<AcquiredDevice> | undefined;

/** One shared device for the process; later calls return the same one. */
export function acquireDevice(): Promise<AcquiredDevice> {
  pending ??= openDevice().catch((error: unknown) => {
    pending = undefined; // let a later call try again (e.g. after installing a driver)
    throw error;
  });
  return pending;
}

/**
 * The GPU entry point: navigator.gpu in a browser, Dawn in Node (created once
 * and kept alive; see ./platform/node). Other WebGPU libraries that expect
 * `navigator.gpu` (e.g. TensorFlow.js in the benchmarks) can be handed this
 * same object.
 */
export async function gpuEntry(): Promise<GPU> {
  const gpu = await hostGpu();
  if (typeof gpu === 'string') throw new NoAdapterError(gpu);
  return gpu;
}

/** The limits kiln's kernels and buffers run into, requested at the adapter's maximum. */
const COMPUTE_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxUniformBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const satisfies readonly (keyof GPUSupportedLimits)[];

/** A new device of its own (tests that must not share the process's device); most code wants `acquireDevice`. */
export async function openDevice(): Promise<AcquiredDevice> {
  const gpu = await gpuEntry();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null (no Vulkan/Metal/D3D driver found)');
  const features = new Set(OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)));
  // Ask for the adapter's own limits, not WebGPU's defaults: kernels with
  // many inputs need more storage buffers, big tensors bigger buffers and
  // bindings (the pool refuses a tensor above maxStorageBufferBindingSize).
  const requiredLimits: Record<string, number> = {};
  for (const name of COMPUTE_LIMITS) {
    const value = adapter.limits[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({ requiredFeatures: [...features], requiredLimits });
  const info = adapter.info;
  const subgroupSize = await checkedSubgroupSize(device, info);
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ').toLowerCase();
  return {
    device,
    features,
    limits: device.limits,
    subgroupSize,
    adapterInfo: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isSoftware: /llvmpipe|lavapipe|swiftshader|software/.test(text),
    },
  };
}
