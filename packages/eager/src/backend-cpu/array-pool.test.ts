import { describe, expect, it } from 'vitest';
import { randn, tensor } from '../index';
import { keepForReuse, reusedArray } from './array-pool';

describe('the cpu array pool', () => {
  it('gives a kept large array back zeroed, for the same dtype and length only', () => {
    const big = new Float32Array(1 << 15).fill(7);
    keepForReuse(big);
    expect(reusedArray('int32', big.length)).toBeUndefined();
    expect(reusedArray('float32', big.length + 1)).toBeUndefined();
    const again = reusedArray('float32', big.length);
    expect(again).toBe(big);
    expect(again!.every((v) => v === 0)).toBe(true);
    expect(reusedArray('float32', big.length)).toBeUndefined();
  });

  it('leaves arrays V8 keeps on its heap (up to 64 bytes) to the garbage collector, and keeps small ones past that', () => {
    const tiny = new Float32Array(16);
    keepForReuse(tiny);
    expect(reusedArray('float32', 16)).toBeUndefined();
    const small = new Int32Array(64).fill(3);
    keepForReuse(small);
    expect(reusedArray('int32', 64)).toBe(small);
    expect([...small]).toEqual(Array(64).fill(0));
  });

  it('serves storages freed by dispose: a new tensor of that size starts from zeros, and old values do not leak into results', async () => {
    const a = randn([256, 256]);
    const sum = await a.sum().data();
    a.dispose();
    const z = tensor(new Float32Array(256 * 256))
      .reshape([256, 256])
      .add(1);
    expect([...(await z.sum().data())]).toEqual([65536]);
    expect(sum[0]).not.toBe(65536);
  });
});
