import { expect, it } from 'vitest';
import { probeWebGpu } from './probe';

// Own file: losing the device ends the process's shared runtime.
const gpu = await probeWebGpu();

it('turns a lost device into a KilnError with the reason', async (ctx) => {
  if (!gpu.runtime) return ctx.skip(gpu.reason);
  const rt = gpu.runtime;
  rt.device.destroy();
  await rt.device.lost;
  expect(() => rt.alloc(16)).toThrow(/device was lost \(destroyed/);
  await expect(rt.read(rt.pool.acquire(4, 0x80), 0, 4)).rejects.toThrow(/lost/);
});
