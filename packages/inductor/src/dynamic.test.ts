import { F, manualSeed, randn, runGraph, type Tensor, tidy } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { getRuntime } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { compileGraph } from './compile';
import { NotCompiled } from './errors';
import { record } from './testing/record';

const devices = await devicesUnderTest();

interface Case {
  name: string;
  /** Shapes with the dynamic dim at its example size 8. */
  shapes: number[][];
  dynamic: number[][];
  fn: (...x: Tensor[]) => Tensor;
}

// The dynamic dim is a row count: batch rows of an MLP, sequence length, rows of a softmax.
const CASES: Case[] = [
  {
    name: 'elementwise chain',
    shapes: [[8, 5]],
    dynamic: [[0]],
    fn: (x) => F.gelu(x.mul(1.5).add(0.5), { approximate: 'tanh' }).mul(x.sigmoid()),
  },
  { name: 'softmax rows', shapes: [[8, 12]], dynamic: [[0]], fn: (x) => F.softmax(x, -1) },
  { name: 'softmax over the dynamic dim', shapes: [[8, 3]], dynamic: [[0]], fn: (x) => F.softmax(x, 0) },
  { name: 'mean over the dynamic dim', shapes: [[8, 3]], dynamic: [[0]], fn: (x) => x.mean(0) },
  {
    name: 'layerNorm + linear',
    shapes: [[8, 16], [16], [16], [6, 16], [6]],
    dynamic: [[0]],
    fn: (x, w, b, w2, b2) => F.linear(F.layerNorm(x, [16], w, b), w2, b2),
  },
  { name: 'reshape of the dynamic dim', shapes: [[8, 4, 3]], dynamic: [[0]], fn: (x) => x.reshape([-1, 3]).sum(-1).exp() },
  {
    name: 'shared dynamic size broadcast',
    shapes: [
      [8, 4],
      [8, 1],
    ],
    dynamic: [[0], [0]],
    fn: (x, y) => x.add(y).relu(),
  },
  {
    name: 'causal attention over a dynamic sequence',
    shapes: [
      [2, 8, 4],
      [2, 8, 4],
      [2, 8, 4],
    ],
    dynamic: [[1], [1], [1]],
    fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }),
  },
];

describe.each(devices)('dynamic sizes on %s', (device) => {
  it.each(CASES)('$name: one compiled graph serves sizes 1..50', async ({ shapes, dynamic, fn }) => {
    const graph = record(
      shapes.map((shape) => ({ shape, dtype: 'float32', device })),
      fn,
    );
    const compiled = compileGraph(graph, { dynamicDims: dynamic });
    expect(compiled.symCount).toBe(1);
    const rt = device === 'webgpu' ? await getRuntime() : undefined;
    const before = rt?.pipelines.size ?? 0;
    const sizes = Array.from({ length: 50 }, (_, i) => i + 1);
    const runs = sizes.map((n) => {
      manualSeed(n);
      const inputs = shapes.map((s, i) =>
        randn(
          s.map((d, k) => (dynamic[i]?.includes(k) ? n : d)),
          { device },
        ),
      );
      return { n, inputs, got: compiled.run(inputs)[0]! };
    });
    // A new size needs no new kernel (matmul may add a template variant for unaligned sizes).
    if (rt) expect(rt.pipelines.size - before).toBeLessThanOrEqual(2);
    for (const { n, inputs, got } of runs) {
      // The eager reference is the same function recorded again at this size.
      const concrete = record(
        inputs.map((t) => ({ shape: [...t.shape], dtype: t.dtype, device })),
        fn,
      );
      const [want] = tidy(() => runGraph(concrete, inputs));
      expect(got.shape, `size ${n}`).toEqual(want!.shape);
      const [g, w] = [await got.data(), await want!.data()];
      for (let j = 0; j < w.length; j++) {
        expect(Math.abs(g[j]! - w[j]!), `size ${n} element ${j}: ${g[j]} vs ${w[j]}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(w[j]!));
      }
      [got, want!, ...inputs].forEach((t) => t.dispose());
    }
  });

  it('rejects a call whose static sizes differ, naming the input', () => {
    const graph = record([{ shape: [8, 5], dtype: 'float32', device }], (x) => x.exp());
    const compiled = compileGraph(graph, { dynamicDims: [[0]] });
    expect(() => compiled.run([randn([8, 6], { device })])).toThrow(/input 0 must be float32\[\?,5\], got float32\[8,6\]/);
  });

  it.each([
    ['from the end', (x: Tensor) => x.slice(0, -3, Infinity, 2)],
    ['clamped at a fixed end', (x: Tensor) => x.slice(0, 0, 3)],
  ])('a slice along a dynamic dim whose size depends on it %s is NotCompiled', (_name, fn) => {
    const graph = record([{ shape: [8, 2], dtype: 'float32', device }], (x) => fn(x).exp());
    expect(() => compileGraph(graph, { dynamicDims: [[0]] })).toThrow(NotCompiled);
  });

  it('a graph whose sizes do not hold as symbols is NotCompiled, not an error (a static size that equalled the symbol)', () => {
    // x [8, 8] @ w [8, 4] with x's rows and w's rows dynamic: at other sizes the inner sizes disagree.
    const graph = record(
      [
        { shape: [8, 8], dtype: 'float32', device },
        { shape: [8, 4], dtype: 'float32', device },
      ],
      (x, w) => x.matmul(w),
    );
    expect(() => compileGraph(graph, { dynamicDims: [[0], [0]] })).toThrow(NotCompiled);
  });
});
