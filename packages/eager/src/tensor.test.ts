import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { arange, full, getDefaultDevice, ones, setDefaultDevice, tensor, zeros } from './creation';
import { dispatch } from './dispatch';
import { cat, split, stack, where } from './functions';
import { format } from './tensor';
import { devicesUnderTest } from './testing/devices';

describe('Tensor', () => {
  it('describes shape, dtype and device without reading data', () => {
    const t = zeros([2, 3], { dtype: 'int32' });
    expect(t.describe()).toBe('Tensor(int32[2,3], cpu)');
    expect([t.ndim, t.numel, t.strides, t.offset, t.version]).toEqual([2, 6, [3, 1], 0, 0]);
  });

  it('prints its values as PyTorch does: String, template literals and console.log (Node inspect)', () => {
    const t = tensor([
      [1, -2.5],
      [NaN, Infinity],
    ]);
    const want = 'tensor([[ 1.0000, -2.5000],\n        [    nan,     inf]])';
    expect(String(t)).toBe(want);
    expect(`${t}`).toBe(want);
    expect(inspect(t)).toBe(want);
    expect(String(tensor([1, 2]))).toBe('tensor([1., 2.])');
    expect(String(tensor([1e-5, 3e6]))).toBe('tensor([1.0000e-05, 3.0000e+06])');
    expect(String(arange(3))).toBe('tensor([0, 1, 2], dtype=int32)');
    expect(String(tensor([true, false]))).toBe('tensor([ True, False])');
    expect(String(tensor(2.5))).toBe('tensor(2.5000)');
    // Large tensors print the first and last three of each dim.
    const big = String(arange(2000).reshape([40, 50]));
    expect(big.split('\n')).toHaveLength(7);
    expect(big).toContain('[   0,    1,    2,  ...,   47,   48,   49]');
    expect(big).toMatch(/\.\.\.,\n/);
  });

  it('PyTorch spellings: to(dtype) and to(device), size(), chunk(), clone(), tril(), triu(), maskedFill()', async () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(x.to('int32').dtype).toBe('int32');
    expect(x.to('cpu').device).toBe('cpu');
    expect(() => x.to('float64' as never)).toThrow("to: the target must be 'cpu', 'webgpu', 'float32', 'int32' or 'bool', got 'float64'");
    expect(x.size()).toEqual([2, 3]);
    expect([x.size(0), x.size(-1)]).toEqual([2, 3]);
    expect(await Promise.all(x.chunk(2, 1).map((c) => c.toArray()))).toEqual([
      [
        [1, 2],
        [4, 5],
      ],
      [[3], [6]],
    ]);
    const c = x.clone();
    c.fill_(0);
    expect(await x.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await x.tril().toArray()).toEqual([
      [1, 0, 0],
      [4, 5, 0],
    ]);
    expect(await x.triu(1).toArray()).toEqual([
      [0, 2, 3],
      [0, 0, 6],
    ]);
    expect(await x.maskedFill(tensor([true, false, true]), -1).toArray()).toEqual([
      [-1, 2, -1],
      [-1, 5, -1],
    ]);
  });

  it('reads back typed arrays, nested arrays (booleans for bool) and single items', async () => {
    const b = tensor([
      [true, false],
      [false, true],
    ]);
    expect(b.dtype).toBe('bool');
    expect(await b.toArray()).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(await b.data()).toEqual(new Uint8Array([1, 0, 0, 1]));
    expect(await tensor([3.5]).reshape([]).toArray()).toBe(3.5);
    expect(await full([1, 1, 1], true).item()).toBe(1);
    expect(await zeros([0, 2]).toArray()).toEqual([]);
  });

  it('infers dtypes: numbers are float32, booleans bool, typed arrays their own; arange of integers is int32', () => {
    expect(tensor([1, 2]).dtype).toBe('float32');
    expect(tensor([1.7, -1.7], { dtype: 'int32' }).dtype).toBe('int32');
    expect(tensor(new Int32Array([1])).dtype).toBe('int32');
    expect(tensor(new Float64Array([1])).dtype).toBe('float32');
    expect(arange(5).dtype).toBe('int32');
    expect(arange(0, 1, 0.25).dtype).toBe('float32');
    expect(full([2], 1).dtype).toBe('float32');
  });

  it('promotes like PyTorch, with JS scalars as weak operands', () => {
    const i = tensor([1, 2], { dtype: 'int32' });
    expect(i.add(1).dtype).toBe('int32');
    expect(i.add(0.5).dtype).toBe('float32');
    expect(i.div(2).dtype).toBe('float32');
    expect(i.exp().dtype).toBe('float32');
    expect(i.gt(1).dtype).toBe('bool');
    expect(tensor([true]).add(tensor([true])).dtype).toBe('bool');
    expect(tensor([true]).add(1).dtype).toBe('int32');
    expect(ones([2]).add(i).dtype).toBe('float32');
    expect(i.sum().dtype).toBe('int32');
    expect(tensor([true, true]).sum().dtype).toBe('int32');
    expect(i.mean().dtype).toBe('float32');
  });

  it('int32 arithmetic wraps like int32 hardware', async () => {
    const big = tensor([2147483647, -2147483648, 65536], { dtype: 'int32' });
    const wrap = (v: bigint) => Number(BigInt.asIntN(32, v));
    expect(await big.add(1).toArray()).toEqual([wrap(2147483648n), wrap(-2147483647n), 65537]);
    expect(await big.mul(big).toArray()).toEqual([wrap(2147483647n ** 2n), wrap(2n ** 62n), wrap(65536n ** 2n)]);
    expect(await big.neg().toArray()).toEqual([-2147483647, -2147483648, -65536]);
    expect(await big.sum().item()).toBe(wrap(2147483647n - 2147483648n + 65536n));
    expect(
      await tensor([3, 2, -2], { dtype: 'int32' })
        .pow(tensor([21, -1, 3], { dtype: 'int32' }))
        .toArray(),
    ).toEqual([wrap(3n ** 21n), 0, -8]);
  });

  it('states division rules: true division, IEEE results for division by zero', async () => {
    const i = tensor([1, -1, 0, 7], { dtype: 'int32' });
    expect(await i.div(tensor([0, 0, 0, 2], { dtype: 'int32' })).toArray()).toEqual([Infinity, -Infinity, NaN, 3.5]);
  });

  it('follows PyTorch on NaN and rounding', async () => {
    const x = tensor([NaN, 1, 2.5, -0.5]);
    expect(await x.max().item()).toBeNaN();
    expect(await x.argmax().item()).toBe(0);
    expect(await x.maximum(0).toArray()).toEqual([NaN, 1, 2.5, 0]);
    expect(await x.relu().toArray()).toEqual([NaN, 1, 2.5, 0]);
    expect(await tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4]).round().toArray()).toEqual([0, 2, 2, -0, -2, 2]);
    expect(await x.cast('bool').toArray()).toEqual([true, true, true, true]);
  });

  it('movement ops return views of the same storage; contiguous copies only when needed', () => {
    const x = zeros([4, 6]);
    for (const v of [
      x.transpose(0, 1),
      x.slice(1, 1, 5, 2),
      x.unsqueeze(0).expand([3, 4, 6]),
      x.reshape([2, 12]),
      x.view(24),
      x.contiguous(),
      x.permute(1, 0).squeeze(),
    ]) {
      expect(v.storage).toBe(x.storage);
    }
    expect(x.transpose(0, 1).contiguous().storage).not.toBe(x.storage);
    expect(x.transpose(0, 1).contiguous().strides).toEqual([4, 1]);
  });

  it('to() returns a view on the same device; setDefaultDevice picks where tensors are created', () => {
    const x = ones([2]);
    expect(x.to('cpu').storage).toBe(x.storage);
    setDefaultDevice('cpu');
    expect(getDefaultDevice()).toBe('cpu');
    expect(zeros([1]).device).toBe('cpu');
  });

  it('cat, stack, split and where', async () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(await cat([a, a.mul(10)], 1).toArray()).toEqual([
      [1, 2, 10, 20],
      [3, 4, 30, 40],
    ]);
    expect(await stack([a, a], 1).toArray()).toEqual([
      [
        [1, 2],
        [1, 2],
      ],
      [
        [3, 4],
        [3, 4],
      ],
    ]);
    expect(await Promise.all(split(arange(7), 3).map((p) => p.toArray()))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(
      await Promise.all(
        arange(6)
          .reshape(2, 3)
          .split([1, 2], 1)
          .map((p) => p.toArray()),
      ),
    ).toEqual([
      [[0], [3]],
      [
        [1, 2],
        [4, 5],
      ],
    ]);
    expect(await where(a.gt(2), a, tensor([-1, -2])).toArray()).toEqual([
      [-1, -2],
      [3, 4],
    ]);
    expect(await dispatch('sub', [10, a], {}).toArray()).toEqual([
      [9, 8],
      [7, 6],
    ]);
  });

  it('reductions accept one dim, several, or none, with keepdim', async () => {
    const x = arange(24).reshape(2, 3, 4);
    expect(await x.sum([0, 2]).toArray()).toEqual([60, 92, 124]);
    expect(x.max(-1, true).shape).toEqual([2, 3, 1]);
    expect(await x.argmax().item()).toBe(23);
    expect(await x.cast('float32').var(1, false, 0).toArray()).toEqual([0, 1].map(() => [0, 1, 2, 3].map(() => Math.fround(32 / 3))));
  });
});

describe.each((await devicesUnderTest()).filter((d) => d === 'webgpu'))('printing on %s', (device) => {
  it('says how to print before a readback, prints after it, and format() / print() read first', async () => {
    const t = tensor([1.5, -2], { device });
    expect(String(t)).toBe(`tensor(<on ${device}, not read back: await t.print()>, size=[2], dtype=float32)`);
    expect(await format(t)).toBe(`tensor([ 1.5000, -2.0000], device='${device}')`);
    expect(String(t)).toBe(`tensor([ 1.5000, -2.0000], device='${device}')`);
    t.add_(1); // a write makes what was read stale
    expect(String(t)).toContain('not read back');
  });
});
