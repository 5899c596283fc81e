/**
 * The numeric contract on special values: NaN, ±Infinity, -0 and values at
 * float32's limits go through every elementwise op and reduction as IEEE 754
 * says (PyTorch on CPU), on every device, against a float64 reference
 * written here. WebGPU shader compilers may assume no NaN or infinity; these
 * tests fail if a kernel relies on that.
 *
 * Comparison: NaN must be NaN, an infinity the same infinity, zeros the
 * same sign where the test says so, anything else float32's rtol 1e-4, atol
 * 1e-5. Transcendental functions on webgpu are WGSL's builtins, accurate on
 * moderate arguments only: sin/cos of |x| >= 1e4 and log of subnormals
 * (flushed to zero on lavapipe) are left out.
 */
import { describe, expect, it } from 'vitest';
import { full, tensor } from './creation';
import type { BinaryOp, UnaryOp } from './ops/elementwise';
import type { ReduceOp } from './ops/reductions';
import type { Tensor } from './tensor';
import { devicesUnderTest } from './testing/devices';
import * as R from './testing/reference';

const devices = await devicesUnderTest();

const F32_MAX = 3.4028234663852886e38;
/** Inputs: the special values, float32's limits, and ordinary numbers between them. */
const SPECIAL = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  0.5,
  -2.5,
  3,
  F32_MAX,
  -F32_MAX,
  1.1754943508222875e-38,
  3e38,
  -3e38,
  89,
  -104,
  20,
  1e4,
];

const f32 = Math.fround;
const rint = (x: number) => (Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
/** C's pow, as PyTorch computes it (JS's Math.pow differs at pow(1, NaN) and pow(-1, ±inf)). */
const cpow = (a: number, b: number) => (b === 0 || a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : a ** b);
const erf = (x: number) => (Number.isNaN(x) ? NaN : Number.isFinite(x) ? R.erf(x) : Math.sign(x));

/** float64 reference of each unary op on float32 inputs (keyed by UnaryOp: a new op needs a row). */
const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => Math.max(x, 0),
  erf,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  floor: Math.floor,
  ceil: Math.ceil,
  round: rint,
  sign: Math.sign,
  logicalNot: (x) => (x !== 0 ? 0 : 1),
};
const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: cpow,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  logicalAnd: (a, b) => +(a !== 0 && b !== 0),
  logicalOr: (a, b) => +(a !== 0 || b !== 0),
};
const BOOL_OUT = new Set<string>(['logicalNot', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr']);
const INACCURATE: Partial<Record<UnaryOp, (x: number) => boolean>> = { sin: (x) => Math.abs(x) >= 1e4, cos: (x) => Math.abs(x) >= 1e4 };

/** Whether `got` (a float32 result) is what IEEE float32 math gives for `want` (a float64 value). */
function agrees(got: number, want64: number, zeroSign: boolean): boolean {
  const want = f32(want64);
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  if (zeroSign && want === 0) return Object.is(got, want);
  return Math.abs(got - want) <= 1e-5 + 1e-4 * Math.abs(want);
}

/** A number as text, -0 included. */
const signed = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

async function check(t: Tensor, want: readonly number[], what: (i: number) => string, zeroSign = false): Promise<void> {
  const got = Array.from(await t.data());
  const bad = want.flatMap((w, i) => (agrees(got[i]!, w, zeroSign) ? [] : [`${what(i)}: got ${signed(got[i]!)}, want ${signed(f32(w))}`]));
  expect(bad, bad.slice(0, 8).join('\n')).toEqual([]);
}

describe.each(devices)('special values on %s', (device) => {
  const xs = SPECIAL.map(f32);
  const x = () => tensor(xs, { device });

  it.each(Object.keys(UNARY) as UnaryOp[])('%s', async (op) => {
    const keep = xs.map((v, i) => [v, i] as const).filter(([v]) => !INACCURATE[op]?.(v));
    const input = tensor(
      keep.map(([v]) => v),
      { device },
    );
    await check(
      input[op](),
      keep.map(([v]) => UNARY[op](v)),
      (i) => `${op}(${keep[i]![0]})`,
    );
  });

  it.each(Object.keys(BINARY) as BinaryOp[])('%s over every pair', async (op) => {
    const a = xs.flatMap((v) => xs.map(() => v));
    const b = xs.flatMap(() => xs);
    if (op === 'logicalAnd' || op === 'logicalOr') {
      await check(
        tensor(a, { device })[op](tensor(b, { device })),
        a.map((v, i) => BINARY[op](v, b[i]!)),
        (i) => `${op}(${a[i]}, ${b[i]})`,
      );
      return;
    }
    const got = tensor(a, { device })[op](tensor(b, { device }));
    expect(got.dtype).toBe(BOOL_OUT.has(op) ? 'bool' : 'float32');
    await check(
      got,
      a.map((v, i) => BINARY[op](v, b[i]!)),
      (i) => `${op}(${a[i]}, ${b[i]})`,
    );
  });

  // Normal values only (lavapipe flushes subnormals). WGSL's builtins are accurate only in absolute terms there:
  // an error of 1e-7 is 1e-4 of f(1e-3), and f(x)/x, log-probabilities and the gradients of such divide it out.
  const nearZeros = [1e-3, -2e-3, 3.2321e-2, 0.4999, 0.5, -0.5001, 0.6249, 0.6251, 1e-6, 3e-30, -1e-36];
  const nearOne = [
    1 + 2 ** -23,
    1 - 2 ** -24,
    1 + 3e-7,
    1 - 1e-4,
    1 + 1e-3,
    Math.SQRT1_2 - 1e-4,
    Math.SQRT1_2 + 1e-4,
    Math.SQRT2 - 1e-4,
    Math.SQRT2 + 1e-4,
    0.99,
    1.5,
  ];
  it.each([
    ['erf', R.erf, nearZeros],
    ['tanh', Math.tanh, nearZeros],
    ['log', Math.log, nearOne],
  ] as const)('%s near its zero is accurate relative to its value', async (op, ref, inputs) => {
    const xs = inputs.map(f32);
    const got = await tensor(xs, { device })[op]().data();
    const bad = xs.flatMap((v, i) => {
      const want = ref(v);
      return Math.abs(got[i]! - want) <= 1e-6 * Math.abs(want) ? [] : [`${op}(${v}): got ${got[i]}, want ${want} (rtol 1e-6)`];
    });
    expect(bad, bad.join('\n')).toEqual([]);
  });

  it('a tensor compared with itself: NaN is not equal to itself', async () => {
    const t = x();
    await check(
      t.ne(t),
      xs.map((v) => +Number.isNaN(v)),
      (i) => `ne(${xs[i]}, itself)`,
    );
    await check(
      t.eq(t),
      xs.map((v) => +!Number.isNaN(v)),
      (i) => `eq(${xs[i]}, itself)`,
    );
    await check(
      t.ge(t),
      xs.map((v) => +!Number.isNaN(v)),
      (i) => `ge(${xs[i]}, itself)`,
    );
  });

  it('multiplying by -0 (a JS scalar or a tensor) keeps the sign of zero', async () => {
    const want = xs.map((v) => v * -0);
    await check(x().mul(-0), want, (i) => `${xs[i]} * -0`, true);
    await check(x().mul(tensor(-0, { device })), want, (i) => `${xs[i]} * tensor(-0)`, true);
    await check(
      x().neg(),
      xs.map((v) => -v),
      (i) => `-(${xs[i]})`,
      true,
    );
    await check(
      x().add(-0),
      xs.map((v) => v + -0),
      (i) => `${xs[i]} + -0`,
      true,
    );
  });

  it('scalar operands beyond float32 become ±Infinity; NaN, -0 and subnormal scalars keep their value', async () => {
    for (const c of [3.5e38, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity, NaN, -0, 1e-40, 5e-324, F32_MAX]) {
      await check(
        x().add(c),
        xs.map((v) => v + f32(c)),
        (i) => `${xs[i]} + ${c}`,
      );
      await check(
        x().mul(c),
        xs.map((v) => v * f32(c)),
        (i) => `${xs[i]} * ${c}`,
      );
    }
  });

  it('sign keeps the sign of zero, as Math.sign', async () => {
    const xs0 = [-0, 0, -2, 3];
    await check(tensor(xs0, { device }).sign(), xs0.map(Math.sign), (i) => `sign(${signed(xs0[i]!)})`, true);
  });

  it('minimum and maximum order -0 below +0 (JS, WebAssembly and IEEE 754-2019), whichever operand it is', async () => {
    const [a, b] = [
      [-0, 0, -0, 0, 1, -2],
      [0, -0, -0, 0, 1, -2],
    ];
    await check(
      tensor(a, { device }).minimum(tensor(b, { device })),
      a.map((v, i) => Math.min(v, b[i]!)),
      (i) => `minimum(${signed(a[i]!)}, ${signed(b[i]!)})`,
      true,
    );
    await check(
      tensor(a, { device }).maximum(tensor(b, { device })),
      a.map((v, i) => Math.max(v, b[i]!)),
      (i) => `maximum(${signed(a[i]!)}, ${signed(b[i]!)})`,
      true,
    );
  });

  it('clamp propagates NaN and keeps infinities inside the bounds', async () => {
    await check(
      x().clamp(-1, 1),
      xs.map((v) => (Number.isNaN(v) ? NaN : Math.min(Math.max(v, -1), 1))),
      (i) => `clamp(${xs[i]}, -1, 1)`,
    );
    await check(
      x().clamp(0),
      xs.map((v) => (Number.isNaN(v) ? NaN : Math.max(v, 0))),
      (i) => `clamp(${xs[i]}, 0)`,
    );
  });

  it('an int32 operand of a float32 op is rounded to float32 first (2^31 - 1 is 2^31, an even power)', async () => {
    const ints = [2147483647, 16777217, -2147483647, 3, -16777219];
    const e = () => tensor(ints, { device, dtype: 'int32' });
    await check(
      full([5], -Infinity, { device }).pow(e()),
      ints.map((n) => (-Infinity) ** f32(n)),
      (i) => `-Infinity ** ${ints[i]}`,
      true,
    );
    await check(
      full([5], 0.5, { device }).add(e()),
      ints.map((n) => f32(f32(n) + 0.5)),
      (i) => `0.5 + ${ints[i]}`,
    );
  });

  it('casts: NaN to bool is true; float to int32 truncates, saturates and maps NaN to 0', async () => {
    await check(
      x().cast('bool'),
      xs.map((v) => +(v !== 0)),
      (i) => `bool(${xs[i]})`,
    );
    const toInt = (v: number) => (Number.isNaN(v) ? 0 : Math.trunc(Math.min(Math.max(v, -2147483648), 2147483647)));
    const big = [...xs, 2147483520, 2147483648, -2147483648, -2147483904, 2.9e9, -2.9e9, 16777217].map(f32);
    await check(tensor(big, { device }).cast('int32'), big.map(toInt), (i) => `int32(${big[i]})`);
  });

  const REDUCE: Record<Exclude<ReduceOp, 'any' | 'all'>, (row: number[]) => number> = {
    sum: (r) => r.reduce((a, b) => a + b, 0),
    prod: (r) => r.reduce((a, b) => a * b, 1),
    max: (r) => (r.some(Number.isNaN) ? NaN : Math.max(...r)),
    min: (r) => (r.some(Number.isNaN) ? NaN : Math.min(...r)),
    // The first NaN wins, else the first extreme (PyTorch's rule).
    argmax: (r) => (r.findIndex(Number.isNaN) >= 0 ? r.findIndex(Number.isNaN) : r.indexOf(Math.max(...r))),
    argmin: (r) => (r.findIndex(Number.isNaN) >= 0 ? r.findIndex(Number.isNaN) : r.indexOf(Math.min(...r))),
  };
  const ROWS = [
    [1, NaN, 3],
    [-Infinity, -Infinity, -Infinity],
    [Infinity, -Infinity, 0],
    [-0, -0, -0],
    [F32_MAX, F32_MAX, -1],
    [2, NaN, NaN],
    [-1, 5, 5],
  ];
  it.each(Object.keys(REDUCE) as (keyof typeof REDUCE)[])('%s over rows holding NaN, infinities and float32-limit values', async (op) => {
    const t = tensor(ROWS, { device });
    await check(
      t[op](1),
      ROWS.map((r) => REDUCE[op](r.map(f32))),
      (i) => `${op}([${ROWS[i]}])`,
    );
  });

  it('any and all read NaN as true', async () => {
    const t = tensor(
      [
        [NaN, 0],
        [0, 0],
        [NaN, NaN],
      ],
      { device },
    );
    await check(t.any(1), [1, 0, 1], (i) => `any(row ${i})`);
    await check(t.all(1), [0, 0, 1], (i) => `all(row ${i})`);
  });
});
