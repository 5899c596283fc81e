import { DeviceLimitError, formatBytes, probeWebGpu } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { ones, tensor } from '../creation';
import type { Tensor } from '../tensor';
import { initWebGpu } from '.';

const gpu = await probeWebGpu();
if (gpu.runtime) await initWebGpu();

describe('webgpu tensors and the device limits', () => {
  it('a tensor above the binding limit fails where it is made (or works); unrelated tensors in the same batch keep their values', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const limit = gpu.runtime.limits.maxStorageBufferBindingSize;
    const first = tensor([1, 2, 3], { device: 'webgpu' }).add(1); // recorded, not submitted yet
    const numel = 40 * 2 ** 20; // 160 MiB of float32, as in the report (GPT-2's token embedding is 154 MB)
    let big: Tensor | undefined;
    let error: unknown;
    try {
      big = ones([numel], { device: 'webgpu' });
    } catch (e) {
      error = e;
    }
    const second = first.mul(2);
    const total = big?.sum();
    expect(await first.toArray()).toEqual([2, 3, 4]);
    expect(await second.toArray()).toEqual([4, 6, 8]);
    if (numel * 4 > limit) {
      expect(String(error)).toMatch(/full: a buffer for a float32\[41943040\] tensor needs 160 MiB \(167772160 bytes\)/);
      expect(String(error)).toContain(`maxStorageBufferBindingSize of ${formatBytes(limit)} (${limit} bytes)`);
      expect(error).toBeInstanceOf(DeviceLimitError);
    } else {
      expect(await total!.item()).toBe(numel);
    }
  });

  it('tensor() from data above the binding limit fails before uploading', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const limit = gpu.runtime.limits.maxStorageBufferBindingSize;
    if (limit > 256 * 2 ** 20) return ctx.skip(`this device binds ${formatBytes(limit)}; the test keeps host memory small`);
    const pending = tensor([5, 6], { device: 'webgpu' }).neg();
    const data = new Int32Array(limit / 4 + 1);
    expect(() => tensor(data, { device: 'webgpu' })).toThrow(
      /^tensor: a buffer for an int32\[\d+\] tensor needs .*maxStorageBufferBindingSize/,
    );
    expect(await pending.toArray()).toEqual([-5, -6]);
  });
});
