import type { Tensor } from '@kiln/eager';
import { cat, F, randn, stack, where, zeros } from '@kiln/eager';
import { expect, it } from 'vitest';
import { compile } from './index';

const cases: [string, (...xs: Tensor[]) => unknown, number[][]][] = [
  ['bool where', (x) => where(x.gt(0), x, x.neg()), [[3, 4]]],
  ['int math', (x) => x.cast('int32').add(3).mul(2), [[5]]],
  [
    'split + stack',
    (x) =>
      stack(
        x.split(2, 0).map((p) => p.exp()),
        0,
      ),
    [[4, 3]],
  ],
  ['cat views', (x) => cat([x.transpose(0, 1), x.transpose(0, 1).mul(2)], 1), [[2, 3]]],
  ['softmax etc', (x) => F.logSoftmax(F.layerNorm(x, [4]), -1), [[3, 4]]],
  [
    'dispose lazy',
    (x) => {
      const y = x.mul(2);
      y.dispose();
      return x.add(1);
    },
    [[2]],
  ],
  [
    'expand + reduce',
    (x, y) => x.unsqueeze(1).expand([3, 4, 5]).add(y).sum([0, 2]),
    [
      [3, 5],
      [4, 5],
    ],
  ],
  [
    'matmul chain',
    (a, b) => a.matmul(b).relu().matmul(b.transpose(0, 1)),
    [
      [3, 4],
      [4, 4],
    ],
  ],
  ['zeros and arange-like', (x) => zeros([3]).add(x).mean(), [[3]]],
  ['slice step', (x) => x.slice(1, 0, 5, 2).mul(3), [[2, 6]]],
];
/** Capture keeps results equal to eager across ops, dtypes, views and composites, with either backend. */
for (const backend of ['eager', 'inductor'] as const) {
  for (const [name, fn, shapes] of cases) {
    it(`${backend} backend: ${name} equals eager`, async () => {
      const fast = compile(fn as (...xs: Tensor[]) => Tensor, { backend });
      for (let i = 0; i < 3; i++) {
        const xs = shapes.map((s) => randn(s));
        const want = fn(...xs) as Tensor,
          got = fast(...xs);
        const [w, g] = [await want.data(), await got.data()];
        expect(got.shape).toEqual(want.shape);
        expect(got.dtype).toEqual(want.dtype);
        w.forEach((v, j) => expect(Math.abs(g[j]! - v)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(v)));
      }
      // The inductor compiled every graph: none fell back to running op by op.
      if (backend === 'inductor')
        expect(fast.explain().graphs.map((g) => g.note ?? 'compiled')).toEqual(fast.explain().graphs.map(() => 'compiled'));
    });
  }
}
