import { describe, expect, it } from 'vitest';
import { openDevice } from './device';
import { DeviceLimitError, formatBytes, KilnError } from './errors';
import { probeWebGpu } from './probe';
import { GpuRuntime } from './runtime';

const gpu = await probeWebGpu();

// out[i] = a[i] * 3 + i, exactly representable for the sizes used here.
const AXPY = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= arrayLength(&out)) { return; }
  out[g.x] = a[g.x] * 3.0 + f32(g.x);
}`;

describe('GpuRuntime', () => {
  it('describes the adapter and its limits', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    expect(typeof rt.adapterInfo.description).toBe('string');
    expect(rt.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
    for (const f of rt.features) expect(rt.device.features.has(f)).toBe(true);
  });

  it('dispatches a real kernel and reads back exact values', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const n = 1000;
    const input = Float32Array.from({ length: n }, (_, i) => i - 500);
    const a = rt.upload(input);
    const out = rt.alloc(n * 4);
    const pipeline = rt.pipeline({ wgsl: AXPY, label: 'axpy' });
    // `out` may be bigger than asked (size class); bind exactly n floats.
    rt.dispatch(pipeline, [a, { buffer: out, size: n * 4 }], [Math.ceil(n / 64)]);
    const got = new Float32Array(await rt.read(out, 0, n * 4));
    const want = input.map((x, i) => x * 3 + i);
    expect(Array.from(got)).toEqual(Array.from(want));
    rt.release(a);
    rt.release(out);
  });

  it('reads back 0-byte, 4-byte, unaligned and 64 MiB ranges', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    expect((await rt.read(rt.alloc(4), 0, 0)).byteLength).toBe(0);
    const four = rt.upload(new Uint32Array([0xdeadbeef]));
    expect(new Uint32Array(await rt.read(four, 0, 4))[0]).toBe(0xdeadbeef);
    const bytes = rt.upload(Uint8Array.from({ length: 11 }, (_, i) => i + 1));
    expect(Array.from(new Uint8Array(await rt.read(bytes, 3, 5)))).toEqual([4, 5, 6, 7, 8]);
    const n = (64 << 20) / 4;
    const big = new Uint32Array(n);
    for (let i = 0; i < n; i++) big[i] = (i * 2654435761) >>> 0;
    const got = new Uint32Array(await rt.read(rt.upload(big), 0, n * 4));
    expect(got.length).toBe(n);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (got[i] !== big[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('caches pipelines by WGSL text, entry point and constants', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const cache = gpu.runtime.pipelines;
    const withConst = AXPY.replace('* 3.0', '* k').replace('@group', 'override k: f32 = 3.0;\n@group');
    const p1 = cache.get({ wgsl: withConst });
    const hits = cache.hits;
    expect(cache.get({ wgsl: withConst })).toBe(p1);
    expect(cache.hits).toBe(hits + 1);
    expect(cache.get({ wgsl: withConst, constants: { k: 2 } })).not.toBe(p1);
    expect(cache.get({ wgsl: `${withConst}\n` })).not.toBe(p1);
  });

  it('shares one pipeline between kernels that differ only in their leading name comment (identical layers)', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const cache = gpu.runtime.pipelines;
    const layer = (n: number) => ({ wgsl: `// kiln kernel fused_add_${n}: add\n${AXPY}`, label: `fused_add_${n}` });
    const first = cache.get(layer(1));
    expect(cache.get(layer(2))).toBe(first);
    expect(cache.get(layer(3))).toBe(first);
    expect(cache.get({ wgsl: `// kiln kernel other\n${AXPY.replace('* 3.0', '* 4.0')}` })).not.toBe(first);
  });

  it('turns a broken shader into a KilnError quoting the numbered line', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const broken = AXPY.replace('a[g.x] * 3.0', 'a[g.x] * undefined_thing');
    const error = await gpu.runtime.pipelines.getAsync({ wgsl: broken, label: 'broken_axpy' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KilnError);
    const message = (error as Error).message;
    expect(message).toContain("'broken_axpy'");
    expect(message).toMatch(/undefined_thing/);
    expect(message).toMatch(/> +6 \| +out\[g\.x\] = a\[g\.x\] \* undefined_thing/);
    expect(message).toMatch(/\^/);
  });

  it('raises a shader error made by the synchronous path at the next readback', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    rt.pipeline({ wgsl: 'fn main( {', label: 'syntax_error' });
    await expect(rt.read(rt.alloc(4), 0, 4)).rejects.toThrow(/syntax_error/);
    // Reported once; the runtime stays usable.
    await expect(rt.read(rt.alloc(4), 0, 4)).resolves.toBeInstanceOf(ArrayBuffer);
  });

  it.for(['synchronous', 'asynchronous'] as const)(
    'a kernel that does not compile fails alone: the work batched around it keeps its values (%s errors)',
    async (mode, ctx) => {
      if (!gpu.runtime) return ctx.skip(gpu.reason);
      // The asynchronous mode is the browser's, where errors reach JS after the call that made them.
      // A device of its own, so that its errors stay out of the shared runtime.
      const rt = mode === 'synchronous' ? gpu.runtime : new GpuRuntime(await openDevice(), { synchronousErrors: false });
      if (rt !== gpu.runtime) ctx.onTestFinished(() => rt.device.destroy());
      const good = await rt.pipelines.getAsync({ wgsl: AXPY, label: 'axpy' });
      const input = rt.upload(Float32Array.from([1, 2, 3, 4]));
      const outs = [rt.alloc(16), rt.alloc(16), rt.alloc(16)];
      const bind = (out: GPUBuffer) => [input, { buffer: out, size: 16 }];
      const broken = { wgsl: AXPY.replace('a[g.x] * 3.0', 'a[g.x] * undefined_thing'), label: 'broken_axpy' };
      rt.dispatch(good, bind(outs[0]!), [1]);
      const failed = rt.pipeline(broken);
      const thrown = (() => {
        try {
          rt.dispatch(failed, bind(outs[1]!), [1]);
        } catch (e) {
          return e;
        }
      })();
      rt.dispatch(good, bind(outs[2]!), [1]);
      const compileError = /'broken_axpy' failed to compile:[\s\S]*undefined_thing/;
      if (rt.synchronousErrors) {
        // Dawn: known when the pipeline is made, so the dispatch throws and records nothing.
        expect(String(thrown)).toMatch(compileError);
      } else {
        // Elsewhere: at the next sync point, like an asynchronous CUDA error.
        await expect(rt.read(outs[0]!, 0, 16)).rejects.toThrow(compileError);
      }
      for (const out of [outs[0]!, outs[2]!]) expect(Array.from(new Float32Array(await rt.read(out, 0, 16)))).toEqual([3, 7, 11, 15]);
      // Once known, the failed pipeline throws its compile error where it is used, recording nothing.
      const dispatches = rt.batcher.dispatches;
      expect(() => rt.dispatch(failed, bind(outs[1]!), [1])).toThrow(compileError);
      expect(rt.batcher.dispatches).toBe(dispatches);
      // It left the cache: the same source compiles anew and reports its error again.
      const again = rt.pipeline(broken);
      expect(again).not.toBe(failed);
      if (rt.synchronousErrors) expect(() => rt.dispatch(again, bind(outs[1]!), [1])).toThrow(compileError);
      else rt.pipelines.reported(again);
      await expect(rt.pipelines.getAsync(broken)).rejects.toThrow(compileError);
      // A valid kernel still works, in the shared batch.
      rt.dispatch(good, bind(outs[1]!), [1]);
      expect(Array.from(new Float32Array(await rt.read(outs[1]!, 0, 16)))).toEqual([3, 7, 11, 15]);
      [input, ...outs].forEach((b) => rt.release(b));
      expect(rt.synchronousErrors).toBe(mode === 'synchronous'); // Dawn in Node reports errors during the call
    },
  );

  it('refuses a grid above the device limit at dispatch, before recording it', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const pipeline = rt.pipeline({ wgsl: AXPY, label: 'axpy' });
    const max = rt.limits.maxComputeWorkgroupsPerDimension;
    const before = rt.batcher.dispatches;
    expect(() => rt.dispatch(pipeline, [rt.alloc(256), rt.alloc(256)], [max + 1])).toThrow(
      new RegExp(`axpy: kernel dispatches \\[${max + 1}\\] workgroups; this device allows at most ${max} per dimension`),
    );
    expect(rt.batcher.dispatches).toBe(before);
    await expect(rt.sync()).resolves.toBeUndefined();
  });

  it('refuses a storage buffer above the binding limit when it is allocated', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const limit = rt.limits.maxStorageBufferBindingSize;
    const error = (() => {
      try {
        rt.alloc(limit + 4, 'too-big');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DeviceLimitError);
    expect((error as Error).message).toContain(`'too-big' needs ${formatBytes(limit + 4)} (${limit + 4} bytes)`);
    expect((error as Error).message).toContain(`maxStorageBufferBindingSize of ${formatBytes(limit)} (${limit} bytes)`);
    // At the limit itself the buffer is bindable: its size class never rounds past the limit.
    if (limit <= 256 * 2 ** 20) {
      const edge = rt.alloc(limit - 4);
      expect(edge.size).toBeLessThanOrEqual(limit);
      rt.release(edge);
    }
  });

  it('submits once for many dispatches, then once per flush', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    rt.flush();
    const saved = rt.batcher.maxDispatchesPerSubmit;
    rt.batcher.maxDispatchesPerSubmit = 100;
    const buf = rt.upload(new Float32Array(64).fill(1));
    const pipeline = rt.pipeline({ wgsl: AXPY });
    const submits = rt.batcher.submits;
    const tmp = rt.alloc(256);
    for (let i = 0; i < 50; i++) rt.dispatch(pipeline, i % 2 ? [tmp, buf] : [buf, tmp], [1]);
    expect(rt.batcher.submits).toBe(submits);
    const got = new Float32Array(await rt.read(buf, 0, 8));
    expect(rt.batcher.submits).toBe(submits + 1);
    rt.batcher.maxDispatchesPerSubmit = saved;
    // Each of the 50 dispatches maps x -> 3x + i, in order, through tmp and back.
    let x0 = 1,
      x1 = 1;
    for (let i = 0; i < 50; i++) {
      x0 = Math.fround(x0 * 3);
      x1 = x1 * 3 + 1;
    }
    expect(got[0]).toBe(x0);
    expect(got[1]! / x1).toBeCloseTo(1, 5); // f32 rounding (or fma) over 50 steps
    rt.release(tmp);
  });

  /** Submits made while `record(dispatch)` runs with the batcher's threshold at `threshold`. */
  function submitsWith(rt: NonNullable<typeof gpu.runtime>, threshold: number, record: (dispatch: () => void) => void): number {
    rt.flush();
    const saved = rt.batcher.maxDispatchesPerSubmit;
    rt.batcher.maxDispatchesPerSubmit = threshold;
    const pipeline = rt.pipeline({ wgsl: AXPY });
    const a = rt.alloc(256),
      b = rt.alloc(256);
    const before = rt.batcher.submits;
    try {
      record(() => rt.dispatch(pipeline, [a, b], [1]));
      return rt.batcher.submits - before;
    } finally {
      rt.batcher.maxDispatchesPerSubmit = saved;
    }
  }

  it('flushes by itself at the dispatch threshold', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    expect(
      submitsWith(gpu.runtime, 10, (dispatch) => {
        for (let i = 0; i < 25; i++) dispatch();
      }),
    ).toBe(2);
  });

  it("submits a batch by the batch's own threshold, whatever the other", (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const saved = rt.batcher.maxDispatchesPerBatchSubmit;
    const batchOf20 = (dispatch: () => void) =>
      rt.batcher.batch(() => {
        for (let i = 0; i < 20; i++) dispatch();
      });
    try {
      rt.batcher.maxDispatchesPerBatchSubmit = 100;
      expect(submitsWith(rt, 4, batchOf20)).toBe(1);
      rt.batcher.maxDispatchesPerBatchSubmit = 8;
      expect(submitsWith(rt, 100, batchOf20)).toBe(3); // after 8, after 16, at the end
    } finally {
      rt.batcher.maxDispatchesPerBatchSubmit = saved;
    }
  });

  it.for(['timestamp', 'wall'] as const)('profiles each dispatch by %s', async (method, ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    if (method === 'timestamp' && !rt.features.has('timestamp-query')) return ctx.skip('no timestamp-query');
    const pipeline = rt.pipeline({ wgsl: AXPY });
    const n = 1 << 20;
    const a = rt.alloc(n * 4),
      b = rt.alloc(n * 4);
    const report = await rt.profile(() => {
      rt.dispatch(pipeline, [a, b], [n / 64], 'first');
      rt.flush(); // several submits in one profile
      rt.dispatch(pipeline, [b, a], [n / 64], 'second');
    }, method);
    expect(report.method).toBe(method);
    expect(report.kernels.map((k) => k.label)).toEqual(['first', 'second']);
    for (const k of report.kernels) expect(k.ms).toBeGreaterThan(0);
    expect(String(report)).toMatch(/2 dispatches/);
  });
});
