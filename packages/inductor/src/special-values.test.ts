/**
 * Compiled kernels keep eager's IEEE 754 results on NaN, ±Infinity, -0 and
 * float32's limits: a fused kernel must not let the shader compiler (or JS
 * doubles) fold or widen what eager's one-op kernels compute. Each case is
 * compiled and compared with eager on the same device, exactly for
 * NaN/infinities/zero signs and within float32's rtol 1e-4, atol 1e-5
 * otherwise; constants include every float32 edge (the WGSL renderer once
 * spelled 3.5e38 as `f32(Infinity.0)`).
 */
import { BINARY, type BinaryOp, runGraph, type Tensor, tensor, tidy, UNARY, type UnaryOp, where } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import { compileGraph } from './compile';
import { record } from './testing/record';

const devices = await devicesUnderTest();

const F32_MAX = 3.4028234663852886e38;
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, F32_MAX, -F32_MAX, 3e38, 1.1754943508222875e-38, 89, -104, 20].map(
  Math.fround,
);
const CONSTANTS = [3.5e38, Number.MAX_VALUE, -Number.MAX_VALUE, F32_MAX, Infinity, -Infinity, NaN, -0, 0, 1e-40, 5e-324, 1e-45, 0.1];

/** Equal as float32 results: NaN to NaN, infinities and zero signs exactly, else rtol 1e-4, atol 1e-5. */
function same(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want) || want === 0) return Object.is(got, want);
  return Math.abs(got - want) <= 1e-5 + 1e-4 * Math.abs(want);
}

interface Case {
  name: string;
  fn: (...x: Tensor[]) => Tensor;
  inputs: number[][];
  /** webgpu row kernels: a workgroup per row (threads' partials combined in a tree) instead of the default. */
  rowStrategy?: 'workgroup';
}

const pairs = (xs: readonly number[]) => [xs.flatMap((v) => xs.map(() => v)), xs.flatMap(() => xs)];

const CASES: Case[] = [
  ...(Object.keys(UNARY) as UnaryOp[]).map((op) => ({ name: op, fn: (x: Tensor) => x[op]().mul(1), inputs: [SPECIAL] })),
  ...(Object.keys(BINARY) as BinaryOp[]).map((op) => ({
    name: op,
    fn: (a: Tensor, b: Tensor) => a[op](b).cast('float32').add(0),
    inputs: pairs(SPECIAL),
  })),
  { name: 'x * 0', fn: (x) => x.mul(0), inputs: [SPECIAL] },
  { name: 'x * -0', fn: (x) => x.mul(-0), inputs: [SPECIAL] },
  { name: 'x + -0', fn: (x) => x.add(-0).neg(), inputs: [SPECIAL] },
  { name: 'x - x', fn: (x) => x.sub(x), inputs: [SPECIAL] },
  { name: 'x / x', fn: (x) => x.div(x), inputs: [SPECIAL] },
  { name: 'x != x as a NaN test', fn: (x) => x.ne(x).cast('float32'), inputs: [SPECIAL] },
  { name: 'x == x', fn: (x) => x.eq(x).cast('float32'), inputs: [SPECIAL] },
  { name: 'log(exp(x))', fn: (x) => x.exp().log(), inputs: [SPECIAL] },
  { name: 'exp(log(x))', fn: (x) => x.log().exp(), inputs: [SPECIAL] },
  { name: 'sqrt(x * x)', fn: (x) => x.mul(x).sqrt(), inputs: [SPECIAL] },
  { name: '(x + 3e38) - 3e38 (float32 rounding between ops)', fn: (x) => x.add(3e38).sub(3e38), inputs: [SPECIAL] },
  { name: '(x * 1e30) * 1e30 / 1e30 (overflow between ops)', fn: (x) => x.mul(1e30).mul(1e30).div(1e30), inputs: [SPECIAL] },
  { name: 'a*b - b*a', fn: (a, b) => a.mul(b).sub(b.mul(a)), inputs: pairs(SPECIAL) },
  { name: 'maximum(x, minimum(x, 0)) and relu', fn: (x) => x.maximum(x.minimum(0)).add(x.relu()), inputs: [SPECIAL] },
  { name: 'clamp(-1, 1) * 2', fn: (x) => x.clamp(-1, 1).mul(2), inputs: [SPECIAL] },
  { name: 'where(x != x, 7, x)', fn: (x) => where(x.ne(x), 7, x).mul(1), inputs: [SPECIAL] },
  {
    name: 'cast to int32 and back',
    fn: (x) => x.cast('int32').cast('float32'),
    inputs: [[...SPECIAL, 2.9e9, -2.9e9, 2147483648, 16777217]],
  },
  { name: 'cast to bool and back', fn: (x) => x.cast('bool').cast('float32'), inputs: [SPECIAL] },
  {
    name: 'max and sum over rows with NaN',
    fn: (x) =>
      x
        .reshape([4, 4])
        .max(1)
        .add(x.reshape([4, 4]).sum(1)),
    inputs: [SPECIAL],
  },
  {
    name: 'argmax and argmin over rows: the first NaN, else the first extreme',
    fn: (x) => {
      const rows = x.reshape([4, 4]);
      return rows.argmax(1).add(rows.argmin(1).mul(10)).cast('float32');
    },
    inputs: [[-Infinity, -Infinity, -Infinity, -Infinity, 1, NaN, 2, NaN, 3, 1, 3, 1, -0, 0, 0, -0]],
  },
  // Online softmax (one pass for max and sum) must give the two-pass results: rows of only -inf, -inf before a finite max, NaN, +inf.
  ...[
    { name: 'softmax over rows', fn: (r: Tensor) => r.softmax(1) },
    { name: 'logSoftmax over rows', fn: (r: Tensor) => r.logSoftmax(1) },
    {
      name: 'log(sum(exp(x - max))) + max over rows (the sum is an output)',
      fn: (r: Tensor) => {
        const m = r.max(1, true);
        return r
          .sub(m)
          .exp()
          .sum(1)
          .log()
          .add(m.reshape([-1]));
      },
    },
  ].flatMap(({ name, fn }) =>
    // Rows of 4 and of 8: one or two vec4 steps, each lane on its own accumulators until the lanes are combined;
    // or a workgroup per row, the threads' partials combined.
    [
      { width: 4, how: '' },
      { width: 8, how: '' },
      { width: 8, how: ', a workgroup per row', rowStrategy: 'workgroup' as const },
    ].map(({ width, how, rowStrategy }) => ({
      name: `${name} (rows of ${width}${how})`,
      rowStrategy,
      fn: (x: Tensor) => fn(x.reshape([-1, width])).mul(1),
      inputs: [
        [
          ...[-Infinity, -Infinity, -Infinity, -Infinity],
          ...[-Infinity, 1, -Infinity, 2],
          ...[NaN, 1, 2, 3],
          ...[1, NaN, -Infinity, 2],
          ...[Infinity, 1, -Infinity, 2],
          ...[1, 2, Infinity, Infinity],
          ...[-Infinity, Infinity, 1, 2],
          ...[3, 2, 1, 0],
          ...[0, 1, 2, 3],
          ...[89, -104, 20, F32_MAX],
        ],
      ],
    })),
  ),
  ...CONSTANTS.flatMap((c) => [
    { name: `x + ${c}`, fn: (x: Tensor) => x.add(c), inputs: [SPECIAL] },
    { name: `x * ${c}`, fn: (x: Tensor) => x.mul(c).sub(1), inputs: [SPECIAL] },
    { name: `maximum(x, ${c})`, fn: (x: Tensor) => x.maximum(c).mul(1), inputs: [SPECIAL] },
  ]),
];

describe.each(devices)('compiled == eager on special values on %s', (device) => {
  it.each(CASES)('$name', async ({ fn, inputs, rowStrategy }) => {
    const graph = record(
      inputs.map((xs) => ({ shape: [xs.length], dtype: 'float32', device })),
      fn,
    );
    const compiled = compileGraph(graph, rowStrategy ? { rowStrategy } : {});
    const args = inputs.map((xs) => tensor(xs, { device }));
    const [got] = compiled.run(args);
    const [want] = tidy(() => runGraph(graph, args));
    const [g, w] = [Array.from(await got!.data()), Array.from(await want!.data())];
    const bad = w.flatMap((v, i) =>
      same(g[i]!, v) ? [] : [`inputs ${inputs.map((xs) => xs[i]).join(', ')}: compiled ${g[i]}, eager ${v}`],
    );
    expect(bad, bad.slice(0, 8).join('\n')).toEqual([]);
    compiled.dispose();
  });
});
