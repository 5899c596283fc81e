import { arange, cat, type Device, F, manualSeed, randn, runGraph, type Tensor, tidy } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import { compileGraph } from './compile';
import { record } from './testing/record';

const devices = await devicesUnderTest();

interface Pattern {
  name: string;
  shapes: number[][];
  fn: (...x: Tensor[]) => Tensor | Tensor[];
  /** Kernels the compiled graph uses, exactly (per device where the binding limit differs). */
  kernels: number | Record<Device, number>;
}

const gelu = (x: Tensor) => F.gelu(x, { approximate: 'tanh' });

const PATTERNS: Pattern[] = [
  { name: 'elementwise chain (W1)', shapes: [[64, 33]], fn: (x) => gelu(x.mul(1.5).add(0.5)).mul(x.sigmoid()), kernels: 1 },
  {
    name: 'long elementwise chain',
    shapes: [[100]],
    fn: (x) =>
      Array.from({ length: 20 }, (_, i) => i)
        .reduce((y, i) => (i % 2 ? y.mul(1.01) : y.add(0.1)), x)
        .tanh(),
    kernels: 1,
  },
  {
    name: 'sum(x * y)',
    shapes: [
      [17, 31],
      [17, 31],
    ],
    fn: (x, y) => x.mul(y).sum(),
    kernels: 1,
  },
  { name: 'softmax', shapes: [[16, 50]], fn: (x) => F.softmax(x, -1), kernels: 1 },
  { name: 'layerNorm with weight and bias', shapes: [[12, 40], [40], [40]], fn: (x, w, b) => F.layerNorm(x, [40], w, b), kernels: 1 },
  { name: 'linear + bias + gelu', shapes: [[9, 20], [24, 20], [24]], fn: (x, w, b) => gelu(F.linear(x, w, b)), kernels: 1 },
  {
    name: 'MLP (linear, gelu, linear)',
    shapes: [[8, 16], [32, 16], [32], [16, 32], [16]],
    fn: (x, w1, b1, w2, b2) => F.linear(gelu(F.linear(x, w1, b1)), w2, b2),
    kernels: 2,
  },
  {
    name: 'causal attention',
    shapes: [
      [2, 3, 10, 8],
      [2, 3, 10, 8],
      [2, 3, 10, 8],
    ],
    fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }),
    kernels: 3,
  },
  {
    name: 'views (transpose, reshape, expand, slice) into an add',
    shapes: [[6, 4], [4]],
    fn: (x, b) =>
      x
        .transpose(0, 1)
        .reshape([2, 12])
        .add(b.reshape([4, 1]).expand([4, 3]).reshape([1, 12]))
        .slice(1, 1, 11, 2),
    kernels: 1,
  },
  {
    name: 'cat of two elementwise results',
    shapes: [
      [5, 3],
      [5, 4],
    ],
    fn: (x, y) => cat([x.exp(), y.mul(2)], 1),
    kernels: 1,
  },
  { name: 'logSoftmax over dim 0', shapes: [[30, 7]], fn: (x) => F.logSoftmax(x, 0), kernels: 1 },
  {
    name: 'two outputs, one shared producer',
    shapes: [[10, 10]],
    fn: (x) => {
      const y = x.abs().add(1);
      return [y.log(), y.sqrt().sum(1)];
    },
    kernels: 2,
  },
  { name: 'argmax and max over a middle dim', shapes: [[3, 9, 4]], fn: (x) => [x.argmax(1), x.max(1, true)], kernels: 2 },
  {
    name: 'matmul of a transposed operand (read in place)',
    shapes: [
      [7, 5],
      [7, 6],
    ],
    fn: (a, b) => a.transpose(0, 1).matmul(b),
    kernels: 1,
  },
  {
    // Past the device's storage-binding limit (16 on lavapipe, one kept for the assert buffer).
    name: 'a sum of 20 inputs splits at the binding limit',
    shapes: Array.from({ length: 20 }, () => [6]),
    fn: (...xs) =>
      xs
        .slice(1)
        .reduce((acc, x) => acc.add(x), xs[0]!)
        .tanh(),
    // cpu kernels bind any number of arrays.
    kernels: { cpu: 1, webgpu: 2 },
  },
  { name: 'var and std over the last dim', shapes: [[6, 9]], fn: (x) => [x.var(-1), x.std(-1, true)], kernels: 2 },
  { name: 'logsumexp', shapes: [[5, 11]], fn: (x) => x.logsumexp(-1), kernels: 1 },
  {
    name: 'cross-entropy of a linear layer',
    shapes: [
      [6, 8],
      [5, 8],
    ],
    fn: (x, w) => F.crossEntropy(F.linear(x, w), arange(6, { device: x.device }).mul(3).add(1).cast('int32').minimum(4)),
    kernels: 3,
  },
  {
    name: 'tril mask then softmax (causal scores)',
    shapes: [[7, 7]],
    fn: (x) => F.softmax(x.tril().add(x.triu(1).mul(-1e9)), -1),
    kernels: 1,
  },
  { name: 'maskedFill with a comparison mask', shapes: [[4, 6]], fn: (x) => x.maskedFill(x.gt(0.5), 0).exp(), kernels: 1 },
  {
    name: 'exact gelu (erf) after a matmul',
    shapes: [
      [5, 8],
      [8, 3],
    ],
    fn: (a, b) => F.gelu(a.matmul(b)),
    kernels: 1,
  },
  {
    name: 'two matmuls added (a@b + c@d)',
    shapes: [
      [5, 6],
      [6, 7],
      [5, 3],
      [3, 7],
    ],
    fn: (a, b, c, d) => a.matmul(b).add(c.matmul(d)),
    kernels: 2,
  },
  {
    name: 'RNN cell tanh(linear(x) + linear(h))',
    shapes: [[4, 6], [8, 6], [8], [4, 8], [8, 8]],
    fn: (x, wx, b, h, wh) => F.linear(x, wx, b).add(F.linear(h, wh)).tanh(),
    kernels: 2,
  },
  {
    name: 'SwiGLU MLP linear(silu(linear(x, w1)) * linear(x, w3), w2)',
    shapes: [
      [6, 8],
      [12, 8],
      [12, 8],
      [8, 12],
    ],
    fn: (x, w1, w3, w2) => F.linear(F.silu(F.linear(x, w1)).mul(F.linear(x, w3)), w2),
    kernels: 3,
  },
  {
    // An AdamW step of one parameter: the moments and the parameter in one pass that reads the gradient once.
    name: 'AdamW update: new moments and parameter, one kernel of three outputs',
    shapes: [
      [6, 5],
      [6, 5],
      [6, 5],
      [6, 5],
    ],
    fn: (p, g, m, v) => {
      const m2 = m.mul(0.9).add(g.mul(0.1));
      const v2 = v.mul(0.999).add(g.square().mul(0.001));
      return [m2, v2, p.mul(0.99).sub(m2.div(v2.abs().sqrt().add(1e-8)).mul(0.01))];
    },
    kernels: 1,
  },
  {
    name: 'a value and a value of the same shape computed from it, both returned',
    shapes: [[4, 7]],
    fn: (x) => {
      const y = x.exp().add(1);
      return [y, y.log().mul(x)];
    },
    kernels: 1,
  },
  {
    name: 'int32 matmul runs as an extern between fused kernels',
    shapes: [
      [4, 6],
      [6, 5],
    ],
    fn: (a, b) => a.mul(3).cast('int32').matmul(b.mul(3).cast('int32')).add(1),
    kernels: 4,
  },
];

describe.each(devices)('externs on %s', (device) => {
  it('lists an op without a lowering as extern in the report, with the reason', () => {
    const graph = record(
      [
        { shape: [4, 6], dtype: 'float32', device },
        { shape: [6, 5], dtype: 'float32', device },
      ],
      (a, b) => a.cast('int32').matmul(b.cast('int32')),
    );
    const compiled = compileGraph(graph);
    const extern = compiled.kernels.find((k) => k.kind === 'extern');
    expect(extern?.fusedOps).toEqual(['matmul']);
    expect(extern?.source).toMatch(/float32 only/);
  });
});

describe.each(devices)('compiled == eager on %s', (device) => {
  it.each(PATTERNS)('$name', async ({ shapes, fn, kernels }) => {
    const graph = record(
      shapes.map((shape) => ({ shape, dtype: 'float32', device })),
      fn,
    );
    const compiled = compileGraph(graph);
    expect(compiled.kernels.length, compiled.kernels.map((k) => k.name).join(', ')).toBe(
      typeof kernels === 'number' ? kernels : kernels[device],
    );
    manualSeed(7);
    const inputs = shapes.map((s) => randn(s, { device }));
    const got = compiled.run(inputs);
    const want = tidy(() => runGraph(graph, inputs));
    expect(got.length).toBe(want.length);
    for (let i = 0; i < got.length; i++) {
      expect(got[i]!.shape).toEqual(want[i]!.shape);
      expect(got[i]!.dtype).toBe(want[i]!.dtype);
      const [g, w] = [await got[i]!.data(), await want[i]!.data()];
      for (let j = 0; j < w.length; j++) {
        // float32: rtol 1e-4, atol 1e-5 (docs/ARCHITECTURE.md); sums and matmuls may reorder additions.
        expect(Math.abs(g[j]! - w[j]!), `element ${j}: ${g[j]} vs ${w[j]}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(w[j]!));
      }
    }
  });
});

/** Inputs given as views: the graph was traced for dense inputs, so the compiled call must read these through their layout. */
const LAYOUTS: { name: string; view: (device: Device) => Tensor }[] = [
  {
    name: 'a dense slice at a storage offset',
    view: (device) => arange(0, 40, 1, { device }).cast('float32').slice(0, 20, 40).reshape([4, 5]),
  },
  { name: 'a step slice', view: (device) => arange(0, 40, 1, { device }).cast('float32').slice(0, 1, 40, 2).reshape([4, 5]) },
  { name: 'a transpose', view: (device) => arange(0, 20, 1, { device }).cast('float32').reshape([5, 4]).transpose(0, 1) },
  { name: 'an expand', view: (device) => arange(0, 5, 1, { device }).cast('float32').expand([4, 5]) },
  {
    name: 'a row of a matrix at an offset',
    view: (device) => arange(0, 60, 1, { device }).cast('float32').reshape([3, 4, 5]).slice(0, 2, 3).squeeze(0),
  },
];

describe.each(devices)('inputs that are views on %s', (device) => {
  const graph = record(
    [
      { shape: [4, 5], dtype: 'float32', device },
      { shape: [5, 3], dtype: 'float32', device },
    ],
    (x, w) => [x.mul(2).add(1), x.matmul(w), x.sum(1)],
  );
  it.each(LAYOUTS)('$name', async ({ view }) => {
    const compiled = compileGraph(graph);
    const x = view(device);
    const w = randn([5, 3], { device });
    const got = compiled.run([x, w]);
    const want = tidy(() => runGraph(graph, [x, w]));
    for (let i = 0; i < want.length; i++) {
      const [g, e] = [await got[i]!.data(), await want[i]!.data()];
      for (let j = 0; j < e.length; j++)
        expect(Math.abs(g[j]! - e[j]!), `output ${i} element ${j}: ${g[j]} vs ${e[j]}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(e[j]!));
    }
    compiled.dispose();
  });
});

describe.each(devices.filter((d) => d === 'webgpu'))('row kernels with one workgroup per row on %s', (device) => {
  const rowPatterns = PATTERNS.filter((p) => /softmax|layerNorm|argmax|sum\(x/.test(p.name));
  it.each(rowPatterns)('$name', async ({ shapes, fn }) => {
    const graph = record(
      shapes.map((shape) => ({ shape, dtype: 'float32', device })),
      fn,
    );
    const compiled = compileGraph(graph, { rowStrategy: 'workgroup' });
    manualSeed(11);
    const inputs = shapes.map((s) => randn(s, { device }));
    const got = compiled.run(inputs);
    const want = tidy(() => runGraph(graph, inputs));
    for (let i = 0; i < got.length; i++) {
      const [g, w] = [await got[i]!.data(), await want[i]!.data()];
      for (let j = 0; j < w.length; j++) expect(Math.abs(g[j]! - w[j]!), `element ${j}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(w[j]!));
    }
  });
});

describe.each(devices)('identical layers on %s', (device) => {
  it('render identical kernels, apart from the comment naming them: one pipeline (or JS function) serves every layer', () => {
    const layer = (x: Tensor, w: Tensor, g: Tensor) => F.layerNorm(F.gelu(F.linear(x, w)), [16], g);
    const graph = record(
      [
        { shape: [8, 16], dtype: 'float32', device },
        ...Array.from({ length: 6 }, (_, i) => ({ shape: i % 2 ? [16] : [16, 16], dtype: 'float32' as const, device })),
      ],
      (x, ...p) => [0, 2, 4].reduce((h, i) => layer(h, p[i]!, p[i + 1]!), x),
    );
    const kernels = compileGraph(graph).kernels;
    // Kernels that fuse the same ops (the same kernel in another layer) must be the same text but for the first line.
    const byOps = new Map<string, Set<string>>();
    for (const k of kernels) {
      const ops = k.fusedOps.join();
      byOps.set(ops, (byOps.get(ops) ?? new Set()).add(k.source.slice(k.source.indexOf('\n') + 1)));
    }
    const repeated = kernels.filter((k) => kernels.filter((j) => j.fusedOps.join() === k.fusedOps.join()).length >= 3);
    expect(repeated.length).toBeGreaterThanOrEqual(6); // the matmul and the row kernel of each layer
    for (const bodies of byOps.values()) expect(bodies.size).toBe(1);
  });
});
