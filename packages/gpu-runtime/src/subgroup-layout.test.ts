import { describe, expect, it } from 'vitest';
import { gpuEntry } from './device';
import { probeWebGpu } from './probe';
import { checkedSubgroupSize } from './subgroup-layout';

const gpu = await probeWebGpu();

describe('checkedSubgroupSize', () => {
  it('takes the adapter’s one subgroup size when the probe finds consecutive lanes, and refuses a size the lanes do not have', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const info = (await (await gpuEntry()).requestAdapter())!.info;
    const S = info.subgroupMinSize;
    if (!rt.device.features.has('subgroups') || !S || S !== info.subgroupMaxSize) {
      expect(rt.subgroupSize).toBeUndefined();
      return ctx.skip('the adapter has no single subgroup size');
    }
    // lavapipe: 8 lanes (one 256-bit SIMD register), invocations in order.
    expect(rt.subgroupSize).toBe(S);
    expect(await checkedSubgroupSize(rt.device, info)).toBe(S);
    // The probe, not the adapter's word, decides: a claimed size the lanes do not have is refused.
    const claimed = S === 4 ? 8 : 4;
    const wrong = { subgroupMinSize: claimed, subgroupMaxSize: claimed } as GPUAdapterInfo;
    expect(await checkedSubgroupSize(rt.device, wrong)).toBeUndefined();
  });
});
