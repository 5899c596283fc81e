import { type GpuRuntime, LruCache } from '@kiln/gpu-runtime';

/**
 * Pipelines by a short signature of what determines a kernel's source (op,
 * dtypes, access pattern, rank), so the per-op path neither renders WGSL nor
 * hashes it again: that was most of eager's per-op JS time. Signatures do
 * not name sizes, so a program meets few; the bound is for the rest (a
 * dropped pipeline is rendered again and found in the runtime's cache).
 */
export const PIPELINE_MEMO_LIMIT = 256;

const memo = new WeakMap<GpuRuntime, LruCache<string, GPUComputePipeline>>();

export function memoPipeline(rt: GpuRuntime, signature: string, label: string, render: () => string): GPUComputePipeline {
  let byKey = memo.get(rt);
  if (!byKey) memo.set(rt, (byKey = new LruCache(PIPELINE_MEMO_LIMIT)));
  return byKey.getOrSet(signature, () => rt.pipeline({ wgsl: render(), label }));
}
