/**
 * Index ops never read outside a tensor: an out-of-range index in gather,
 * indexSelect, embedding or crossEntropy's targets is a KilnError naming the
 * op the user called, the index and the size, on every device, eager and
 * compiled. cpu raises it at once; webgpu kernels record it as a device-side
 * assert that the next readback raises, after which the device works on.
 */
import { F, type Tensor, tensor } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { compile } from '@kiln/tracer';
import { describe, expect, it } from 'vitest';

const devices = await devicesUnderTest();

interface Case {
  op: string;
  /** What the case is about, when one op has several. */
  name?: string;
  run: (x: Tensor, idx: Tensor) => Tensor;
  /** The dim named in the error and its size for x of shape [3, 4]. */
  dim: number;
  size: number;
}

const CASES: Case[] = [
  { op: 'gather', run: (x, idx) => x.gather(1, idx.reshape([1, -1]).expand([3, -1])), dim: 1, size: 4 },
  { op: 'indexSelect', run: (x, idx) => x.indexSelect(0, idx), dim: 0, size: 3 },
  // A size-1 dim of a reduction's result: the read needs no index at all, the check must stay.
  { op: 'indexSelect', name: 'into a size-1 dim', run: (x, idx) => x.sum(1, true).indexSelect(1, idx), dim: 1, size: 1 },
  { op: 'embedding', run: (x, idx) => F.embedding(idx, x), dim: 0, size: 3 },
  { op: 'crossEntropy', run: (x, idx) => F.crossEntropy(x.slice(0, 0, 2), idx), dim: 1, size: 4 },
];

const BAD = [
  { name: 'one past the end', values: (size: number) => [0, size], bad: (size: number) => size },
  { name: 'negative', values: () => [-1, 0], bad: () => -1 },
  { name: 'far outside', values: () => [0, 1_000_000], bad: () => 1_000_000 },
];

describe.each(devices)('out-of-range indices on %s', (device) => {
  const x = () =>
    tensor(
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
      ],
      { device },
    );
  const message = (c: Case, index: number) => new RegExp(`^${c.op}: index ${index} is out of range for dim ${c.dim} of size ${c.size}`);

  describe.each(CASES.map((c) => ({ ...c, title: c.name ? `${c.op} ${c.name}` : c.op })))('$title', (c) => {
    it.each(BAD)('eager: $name is a KilnError naming the op, the index and the size', async ({ values, bad }) => {
      const idx = tensor(values(c.size), { device, dtype: 'int32' });
      await expect(async () => c.run(x(), idx).data()).rejects.toThrow(message(c, bad(c.size)));
      // The device works on: a valid call right after gives the right values.
      const ok = await c.run(x(), tensor([0, c.size - 1], { device, dtype: 'int32' })).data();
      expect(ok.length).toBeGreaterThan(0);
    });

    it.each(BAD)('compiled: $name is the same KilnError', async ({ values, bad }) => {
      const fast = compile((t: Tensor, i: Tensor) => c.run(t, i).mul(2));
      const good = tensor([0, c.size - 1], { device, dtype: 'int32' });
      expect(Array.from(await fast(x(), good).data())).toEqual(Array.from(await c.run(x(), good).mul(2).data()));
      const idx = tensor(values(c.size), { device, dtype: 'int32' });
      await expect(async () => fast(x(), idx).data()).rejects.toThrow(message(c, bad(c.size)));
      expect(Array.from(await fast(x(), good).data())).toEqual(Array.from(await c.run(x(), good).mul(2).data()));
    });
  });
});
