import type { GpuRuntime } from '@kiln/gpu-runtime';

/**
 * Pipelines by a short signature of what determines a kernel's source (op,
 * dtypes, access pattern, rank), so the per-op path neither renders WGSL nor
 * hashes it again: that was most of eager's per-op JS time.
 */
const memo = new WeakMap<GpuRuntime, Map<string, GPUComputePipeline>>();

export function memoPipeline(rt: GpuRuntime, signature: string, label: string, render: () => string): GPUComputePipeline {
  let byKey = memo.get(rt);
  if (!byKey) memo.set(rt, (byKey = new Map()));
  let pipeline = byKey.get(signature);
  if (!pipeline) {
    pipeline = rt.pipeline({ wgsl: render(), label });
    byKey.set(signature, pipeline);
  }
  return pipeline;
}
