/**
 * The runtime's caches stay within their bounds however many distinct
 * kernels, bindings and uniforms a program makes, and what they drop still
 * works when asked for again. The bounds are lowered here so that a few
 * dozen kernels exceed them (compiling hundreds takes long on lavapipe).
 */
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from './probe';

const gpu = await probeWebGpu();

const kernel = (k: number) => `
@group(0) @binding(0) var<uniform> scale: vec4f;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= arrayLength(&out)) { return; }
  out[g.x] = a[g.x] * scale.x + ${k}.0;
}`;

describe('gpu-runtime caches', () => {
  it('have stated bounds', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    expect(rt.pipelines.limit).toBe(256);
    expect(rt.bindGroups.limit).toBe(4096);
    expect(rt.uniforms.limit).toBe(4096);
  });

  it('stay at their bounds with more distinct kernels, bindings and uniforms than that, and recompute what they dropped', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const saved = [rt.pipelines.limit, rt.bindGroups.limit, rt.uniforms.limit] as const;
    rt.pipelines.limit = 8;
    rt.bindGroups.limit = 16;
    rt.uniforms.limit = 12;
    const input = rt.upload(Float32Array.from({ length: 64 }, (_, i) => i));
    const outs = Array.from({ length: 5 }, () => rt.alloc(256));
    try {
      const uniformsBefore = rt.pool.stats();
      for (let k = 0; k < 40; k++) {
        const pipeline = rt.pipeline({ wgsl: kernel(k), label: `k${k}` });
        rt.dispatch(pipeline, [rt.uniform(new Float32Array([k % 30, 0, 0, 0])), input, outs[k % 5]!], [1]);
        expect(rt.pipelines.size).toBeLessThanOrEqual(8);
        expect(rt.bindGroups.size).toBeLessThanOrEqual(16);
        expect(rt.uniforms.size).toBeLessThanOrEqual(12);
      }
      // Evicted uniform buffers go back to the pool: at most the bound's worth are live at once.
      expect(rt.pool.stats().bytesLive - uniformsBefore.bytesLive).toBeLessThanOrEqual(12 * 256);
      // Kernel 0, its bind group and its uniform were all dropped; asking again makes them anew, correctly.
      rt.dispatch(rt.pipeline({ wgsl: kernel(0), label: 'k0' }), [rt.uniform(new Float32Array([2, 0, 0, 0])), input, outs[0]!], [1]);
      const got = new Float32Array(await rt.read(outs[0]!, 0, 256));
      expect(Array.from(got.slice(0, 4))).toEqual([0, 2, 4, 6]);
      expect(rt.pipelines.size).toBeLessThanOrEqual(8);
    } finally {
      [rt.pipelines.limit, rt.bindGroups.limit, rt.uniforms.limit] = saved;
      [input, ...outs].forEach((b) => rt.release(b));
    }
  });
});
