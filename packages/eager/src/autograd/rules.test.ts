/**
 * Gradient checks: every differentiable op of the op table, on every device
 * under test, against central finite differences of the float64 reference
 * (../testing/reference). `CASES` is keyed by `OpName` and must agree with
 * the rule table's marks, so an op added without a gradient case (or a
 * 'not differentiable' mark) does not compile, and a mark that disagrees
 * with the rule table fails. The composite ops and matmul take their cases
 * from ../testing/op-cases, which the conformance test shares, less those
 * marked `forwardOnly`.
 *
 * Each case computes L = sum(op(inputs) * W) for a random cotangent W:
 * kiln's gradient is `op(...).backward(W)` in float32; the reference's is
 * (L(x + h e) - L(x - h e)) / 2h per element in float64 with h = 1e-5
 * (truncation ~1e-10, rounding ~1e-11 at these magnitudes).
 *
 * Tolerances: the correctness rule's float32 rtol 1e-4, atol 1e-5
 * (docs/ARCHITECTURE.md) for both checks:
 * |kiln - fd| <= atol + rtol |fd|, and webgpu's gradients against cpu's.
 * Forward and backward run in float32 through up to a few dozen ops; the
 * largest error seen, as a fraction of the tolerance, is printed per device
 * (below 0.15 on cpu and webgpu when this was written).
 */
import { describe, expect, it } from 'vitest';
import type { Input } from '../dispatch';
import { cat } from '../functions';
import type { AttrsOf, OpName } from '../ops/table';
import { OPS } from '../ops/table';
import type { Tensor } from '../tensor';
import { devicesUnderTest } from '../testing/devices';
import type { OpCase, OpCases, TensorArg } from '../testing/op-cases';
import { argRef, call, SHARED_CASES, strided, t } from '../testing/op-cases';
import type { Domain, Ref, Tolerance } from '../testing/reference';
import * as R from '../testing/reference';
import type { NotDifferentiable } from './rules';
import { NOT_DIFFERENTIABLE, VJP } from './rules';

const FD_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const DEVICE_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const H = 1e-5;

const T = (ins: readonly Input[], i: number) => ins[i] as Tensor;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Elementwise float64 math with broadcasting (numbers are scalars). */
const ew =
  (f: (...x: number[]) => number) =>
  (refs: (Ref | number)[]): Ref =>
    R.map('float32', f, ...refs);

// ---------------------------------------------------------------- elementwise

function unary(op: OpName, f: (x: number) => number, domain: Domain = 'any'): OpCases {
  return () => [
    { name: '[3,4]', args: [t([3, 4], { domain })], run: call(op as 'neg', {}), ref: ew(f) },
    { name: 'strided [2,3]', args: [strided([2, 3], { domain })], run: call(op as 'neg', {}), ref: ew(f) },
    { name: '0-d', args: [t([], { domain })], run: call(op as 'neg', {}), ref: ew(f) },
  ];
}

function binary(
  op: OpName,
  f: (a: number, b: number) => number,
  domains: [Domain, Domain] = ['any', 'any'],
  scalars = [1.5, -2.5],
): OpCases {
  const [d0, d1] = domains;
  const run = call(op as 'add', {});
  return () => [
    { name: '[3,4] [3,4]', args: [t([3, 4], { domain: d0 }), t([3, 4], { domain: d1 })], run, ref: ew(f) },
    { name: 'broadcast [3,1] [1,4]', args: [t([3, 1], { domain: d0 }), strided([1, 4], { domain: d1 })], run, ref: ew(f) },
    { name: 'broadcast [2,3,4] [4]', args: [strided([2, 3, 4], { domain: d0 }), t([4], { domain: d1 })], run, ref: ew(f) },
    { name: `scalar ${scalars[1]} on the right`, args: [t([2, 3], { domain: d0 }), scalars[1]!], run, ref: ew(f) },
    { name: `scalar ${scalars[0]} on the left`, args: [scalars[0]!, t([2, 3], { domain: d1 })], run, ref: ew(f) },
  ];
}

// ----------------------------------------------------------------- reductions

function reduction(
  op: 'sum' | 'prod' | 'max' | 'min' | 'mean' | 'logsumexp',
  f: (xs: number[]) => number,
  domain: Domain = 'any',
): OpCases {
  const c = (name: string, arg: TensorArg, dim: number[] | null, keepdim = false): OpCase => ({
    name,
    args: [arg],
    run: call(op, { dim, keepdim }),
    ref: ([x]) => R.reduce(x as Ref, dim, keepdim, 'float32', f),
  });
  return () => [
    c('all dims of [2,3,4]', t([2, 3, 4], { domain }), null),
    c('dim 1', t([2, 3, 4], { domain }), [1]),
    c('dims [0,2] keepdim of a strided view', strided([2, 3, 4], { domain }), [0, 2], true),
    c('0-d', t([], { domain }), null),
  ];
}

function variance(xs: number[], correction: number): number {
  const m = sum(xs) / xs.length;
  return sum(xs.map((x) => (x - m) ** 2)) / Math.max(xs.length - correction, 0);
}

function varianceCases(op: 'var' | 'std'): OpCases {
  const f = op === 'var' ? variance : (xs: number[], c: number) => Math.sqrt(variance(xs, c));
  const c = (name: string, arg: TensorArg, dim: number[] | null, correction: number, keepdim = false): OpCase => ({
    name,
    args: [arg],
    run: call(op, { dim, keepdim, correction }),
    ref: ([x]) => R.reduce(x as Ref, dim, keepdim, 'float32', (xs) => f(xs, correction)),
  });
  return () => [c('all of [3,4]', t([3, 4]), null, 1), c('dim -1 keepdim, biased', strided([3, 5]), [-1], 0, true)];
}

// ------------------------------------------------------------------ movement

const movement =
  <N extends OpName>(op: N, name: string, arg: TensorArg, attrs: AttrsOf[N], ref: (r: Ref) => Ref): OpCases =>
  () => [{ name, args: [arg], run: call(op, attrs), ref: ([x]) => ref(x as Ref) }];

const sliceRef = (dim: number, start: number, step: number, len: number) => (r: Ref) =>
  R.build(
    r.shape.map((s, d) => (d === dim ? len : s)),
    'float32',
    (idx) =>
      R.get(
        r,
        idx.map((v, d) => (d === dim ? start + v * step : v)),
      ),
  );

// ------------------------------------------------------------ in-place ops

/** The reference of writing `src` (broadcast) into the region of `base` given by the slice `start:end:step` along `dim`. */
function writeRegion(base: Ref, dim: number, start: number, end: number, step: number, src: Ref | number): Ref {
  const len = Math.ceil((Math.min(end, base.shape[dim]!) - start) / step);
  const region = R.map('float32', (_, s) => s, sliceRef(dim, start, step, len)(base), src);
  return R.build(base.shape, 'float32', (idx) => {
    const i = idx[dim]! - start;
    if (i < 0 || i % step !== 0 || i / step >= len) return R.get(base, idx);
    return R.get(
      region,
      idx.map((v, d) => (d === dim ? i / step : v)),
    );
  });
}

// ---------------------------------------------------------------- the table

const CASES: { [N in OpName]: OpCases | NotDifferentiable } = {
  neg: unary('neg', (x) => -x),
  abs: unary('abs', Math.abs, 'nonzero'),
  exp: unary('exp', Math.exp),
  log: unary('log', Math.log, 'positive'),
  sqrt: unary('sqrt', Math.sqrt, 'positive'),
  rsqrt: unary('rsqrt', (x) => 1 / Math.sqrt(x), 'positive'),
  sin: unary('sin', Math.sin),
  cos: unary('cos', Math.cos),
  tanh: unary('tanh', Math.tanh),
  sigmoid: unary('sigmoid', (x) => 1 / (1 + Math.exp(-x))),
  relu: unary('relu', (x) => Math.max(x, 0), 'nonzero'),
  erf: unary('erf', R.erf),
  square: unary('square', (x) => x * x),
  reciprocal: unary('reciprocal', (x) => 1 / x, 'nonzero'),
  floor: unary('floor', Math.floor),
  ceil: unary('ceil', Math.ceil),
  round: unary('round', Math.round),
  sign: unary('sign', Math.sign, 'nonzero'),
  logicalNot: NOT_DIFFERENTIABLE,

  add: binary('add', (a, b) => a + b),
  sub: binary('sub', (a, b) => a - b),
  mul: binary('mul', (a, b) => a * b),
  div: binary('div', (a, b) => a / b, ['any', 'nonzero']),
  pow: () => [
    ...binary('pow', Math.pow, ['positive', 'any'], [1.5, 2])(),
    {
      name: 'negative bases, integer exponent 3',
      args: [t([2, 3]), 3],
      run: call('pow', {}),
      ref: ew((a) => a ** 3),
    },
  ],
  maximum: binary('maximum', Math.max),
  minimum: binary('minimum', Math.min),
  eq: NOT_DIFFERENTIABLE,
  ne: NOT_DIFFERENTIABLE,
  lt: NOT_DIFFERENTIABLE,
  le: NOT_DIFFERENTIABLE,
  gt: NOT_DIFFERENTIABLE,
  ge: NOT_DIFFERENTIABLE,
  logicalAnd: NOT_DIFFERENTIABLE,
  logicalOr: NOT_DIFFERENTIABLE,
  where: () => [
    {
      name: 'broadcast [3,1] [1,4] with a bool [3,4]',
      args: [t([3, 4], { dtype: 'bool' }), t([3, 1]), strided([1, 4])],
      run: call('where', {}),
      ref: ew((c, a, b) => (c ? a : b)),
    },
    { name: 'scalar branch', args: [t([5], { dtype: 'bool' }), t([5]), 0], run: call('where', {}), ref: ew((c, a, b) => (c ? a : b)) },
  ],
  cast: () => [{ name: 'float32 to float32', args: [strided([3, 4])], run: call('cast', { dtype: 'float32' }), ref: ([x]) => x as Ref }],

  sum: reduction('sum', sum),
  prod: () => [
    ...reduction('prod', (xs) => xs.reduce((a, b) => a * b, 1), 'nonzero')(),
    {
      name: 'rows with one zero and with two',
      args: [t([3, 3], { data: [0, 2, 3, -1, 0, 0, 1.5, 2, -0.5] })],
      run: call('prod', { dim: [1], keepdim: false }),
      ref: ([x]) => R.reduce(x as Ref, [1], false, 'float32', (xs) => xs.reduce((a, b) => a * b, 1)),
    },
  ],
  max: reduction('max', (xs) => Math.max(...xs)),
  min: reduction('min', (xs) => Math.min(...xs)),
  argmax: NOT_DIFFERENTIABLE,
  argmin: NOT_DIFFERENTIABLE,
  any: NOT_DIFFERENTIABLE,
  all: NOT_DIFFERENTIABLE,

  reshape: movement('reshape', 'strided [3,4] -> [2,6] (copies)', strided([3, 4]), { shape: [2, 6] }, (r) => R.reshaped(r, [2, 6])),
  view: movement('view', '[3,4] -> [4,3]', t([3, 4]), { shape: [4, 3] }, (r) => R.reshaped(r, [4, 3])),
  permute: movement('permute', '[2,3,4] by [2,0,-2]', t([2, 3, 4]), { dims: [2, 0, -2] }, (r) => R.permute(r, [2, 0, 1])),
  transpose: movement('transpose', 'strided [2,3,4] (-1, 0)', strided([2, 3, 4]), { dim0: -1, dim1: 0 }, (r) => R.permute(r, [2, 1, 0])),
  unsqueeze: movement('unsqueeze', '[3,4] at -1', t([3, 4]), { dim: -1 }, (r) => R.reshaped(r, [3, 4, 1])),
  squeeze: movement('squeeze', '[1,3,1] dim 0', t([1, 3, 1]), { dim: [0] }, (r) => R.reshaped(r, [3, 1])),
  expand: () => [
    {
      name: '[3,1] -> [2,3,4]',
      args: [t([3, 1])],
      run: call('expand', { shape: [2, 3, 4] }),
      ref: ([x]) => R.build([2, 3, 4], 'float32', (idx) => R.get(x as Ref, [idx[1]!, 0])),
    },
  ],
  flatten: movement('flatten', 'strided [2,3,4] dims 1..2', strided([2, 3, 4]), { startDim: 1, endDim: 2 }, (r) => R.reshaped(r, [2, 12])),
  slice: () => [
    {
      name: '[10] 2:9:3',
      args: [t([10])],
      run: call('slice', { dim: 0, start: 2, end: 9, step: 3 }),
      ref: ([x]) => sliceRef(0, 2, 3, 3)(x as Ref),
    },
    {
      name: 'strided [4,6] dim 1 -4::2',
      args: [strided([4, 6])],
      run: call('slice', { dim: 1, start: -4, end: Infinity, step: 2 }),
      ref: ([x]) => sliceRef(1, 2, 2, 2)(x as Ref),
    },
    {
      name: '[5,3] rows 1:3',
      args: [t([5, 3])],
      run: call('slice', { dim: 0, start: 1, end: 3, step: 1 }),
      ref: ([x]) => sliceRef(0, 1, 1, 2)(x as Ref),
    },
  ],
  contiguous: movement('contiguous', 'of a strided view', strided([3, 4]), {}, (r) => r),
  asStrided: () => {
    const c = (name: string, n: number, shape: number[], strides: number[], offset: number): OpCase => ({
      name,
      args: [t([n])],
      run: call('asStrided', { shape, strides, offset }),
      ref: ([x]) => R.build(shape, 'float32', (idx) => (x as Ref).data[offset + idx.reduce((o, v, d) => o + v * strides[d]!, 0)]!),
    });
    return [
      c('a transposed [3,4] block at offset 2 (each element once: scattered)', 20, [3, 4], [1, 4], 2),
      c('overlapping windows [3,4] with strides [2,1] (elements read twice: one-hot)', 11, [3, 4], [2, 1], 1),
    ];
  },

  mean: reduction('mean', (xs) => sum(xs) / xs.length),
  var: varianceCases('var'),
  std: varianceCases('std'),
  logsumexp: reduction('logsumexp', (xs) => {
    const m = Math.max(...xs);
    return m + Math.log(sum(xs.map((x) => Math.exp(x - m))));
  }),
  // The composite ops and matmul: ../testing/op-cases.
  ...SHARED_CASES,
  cat: () => [
    {
      name: 'dim 1 of [2,3], strided [2,1], [2,2]',
      args: [t([2, 3]), strided([2, 1]), t([2, 2])],
      run: (ins) => cat(ins as Tensor[], 1),
      ref: ([a, b, c]) =>
        R.build([2, 6], 'float32', (idx) => {
          const j = idx[1]!;
          const [r, k] = j < 3 ? [a, j] : j < 4 ? [b, j - 3] : [c, j - 4];
          return R.get(r as Ref, [idx[0]!, k]);
        }),
    },
  ],
  gather: () => [
    {
      name: 'dim 1, an index narrower than the input',
      args: [t([3, 4]), t([2, 5], { dtype: 'int32', data: [0, 3, 3, 1, 0, 2, 2, 1, 0, 3] })],
      run: call('gather', { dim: 1 }),
      ref: ([x, i]) => R.build([2, 5], 'float32', (idx) => R.get(x as Ref, [idx[0]!, R.get(i as Ref, idx)])),
    },
    {
      name: 'dim 0 of a strided input',
      args: [strided([4, 3]), t([2, 3], { dtype: 'int32', data: [3, 0, 1, 3, 3, 2] })],
      run: call('gather', { dim: 0 }),
      ref: ([x, i]) => R.build([2, 3], 'float32', (idx) => R.get(x as Ref, [R.get(i as Ref, idx), idx[1]!])),
    },
  ],
  full: NOT_DIFFERENTIABLE,
  arange: NOT_DIFFERENTIABLE,
  rand: NOT_DIFFERENTIABLE,
  randn: NOT_DIFFERENTIABLE,
  copy_: () => [
    {
      name: 'into a whole non-leaf, source broadcast',
      args: [t([2, 3]), t([3])],
      run: ([d, s]) => {
        const x = T([d], 0).mul(1);
        x.copy_(T([s], 0));
        return x.mul(T([d], 0));
      },
      ref: ([d, s]) => R.map('float32', (_, v, w) => v * w, d as Ref, s as Ref, d as Ref),
    },
    {
      name: 'through a view (every other column), source broadcast',
      args: [t([3, 5]), t([1, 3])],
      run: ([d, s]) => {
        const x = T([d], 0).mul(1);
        x.slice(1, 0, Infinity, 2).copy_(T([s], 0));
        return x.square();
      },
      ref: ([d, s]) => R.map('float32', (v) => v * v, writeRegion(d as Ref, 1, 0, Infinity, 2, s as Ref)),
    },
  ],
  fill_: () => [
    {
      name: 'a whole non-leaf',
      args: [t([4])],
      run: ([x]) =>
        T([x], 0)
          .mul(1)
          .fill_(2)
          .add(T([x], 0)),
      ref: ew((x) => 2 + x),
    },
    {
      name: 'row 1 through a view',
      args: [t([3, 4])],
      run: ([x]) => {
        const y = T([x], 0).mul(1);
        y.slice(0, 1, 2).fill_(0.5);
        return y.mul(T([x], 0));
      },
      ref: ([x]) => R.map('float32', (a, b) => a * b, writeRegion(x as Ref, 0, 1, 2, 1, 0.5), x as Ref),
    },
  ],
  scatterView: () => [
    {
      name: 'a [2,3] block with row stride 5 at offset 4',
      args: [t([16]), t([2, 3])],
      run: call('scatterView', { shape: [2, 3], strides: [5, 1], offset: 4 }),
      ref: ([b, src]) => {
        const data = [...(b as Ref).data];
        R.build([2, 3], 'float32', ([i, j]) => (data[4 + 5 * i! + j!] = R.get(src as Ref, [i!, j!])));
        return { shape: [16], dtype: 'float32', data };
      },
    },
  ],
  to: () => [
    {
      name: 'the same device (a view)',
      args: [strided([3, 4])],
      run: ([x]) => (x as Tensor).to((x as Tensor).device),
      ref: ([x]) => x as Ref,
    },
  ],
};

// ---------------------------------------------------------------- the checks

function seedOf(name: string): number {
  let seed = 7;
  for (const ch of name) seed = Math.imul(seed ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return seed;
}

const differentiated = (c: OpCase) => c.args.flatMap((a, k) => (typeof a === 'object' && a.dtype === 'float32' ? [k] : []));

/** Central differences of L = sum(ref(inputs) * W) with respect to every element of input k. */
function finiteDifferences(c: OpCase, refs: (Ref | number)[], k: number, w: Ref): number[] {
  const x = refs[k] as Ref;
  const loss = (data: number[]) => {
    const out = c.ref(refs.map((r, j) => (j === k ? { ...x, data } : r)));
    return sum(out.data.map((v, i) => v * w.data[i]!));
  };
  return x.data.map((v, e) => {
    const at = (d: number) => loss(x.data.map((u, i) => (i === e ? v + d : u)));
    return (at(H) - at(-H)) / (2 * H);
  });
}

function closeness(got: readonly number[], want: readonly number[], tol: Tolerance): { bad: number; worst: number } {
  let worst = 0;
  const bad = got.findIndex((g, i) => {
    const err = Math.abs(g - want[i]!) / (tol.atol + tol.rtol * Math.abs(want[i]!));
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
    return !(err <= 1);
  });
  return { bad, worst };
}

const cases = (Object.keys(OPS) as OpName[]).flatMap((op) => {
  const entry = CASES[op];
  return entry === NOT_DIFFERENTIABLE ? [] : entry().flatMap((c) => (c.forwardOnly ? [] : [{ op, c }]));
});

describe('the rule table', () => {
  it('marks every op: a rule, a decomposition (composites) or not differentiable, as the gradient cases do', () => {
    for (const op of Object.keys(OPS) as OpName[]) {
      const entry: unknown = VJP[op];
      const ok = entry === NOT_DIFFERENTIABLE || (entry === 'decomposition' && OPS[op].kind === 'composite') || typeof entry === 'object';
      expect(ok, `${op}: ${String(entry)}`).toBe(true);
      expect(CASES[op] === NOT_DIFFERENTIABLE, `${op}: the gradient cases and the rule table disagree`).toBe(entry === NOT_DIFFERENTIABLE);
    }
  });
});

/** cpu's gradients per case, for webgpu's to equal. */
const cpuGrads = new Map<string, number[][]>();

describe.each(await devicesUnderTest())('gradients on %s', (device) => {
  let worst = 0;
  for (const { op, c } of cases) {
    it(`${op}: ${c.name}`, async () => {
      const key = `${op}: ${c.name}`;
      const seed = seedOf(key);
      const refs = c.args.map((a, k) => argRef(a, seed + k));
      const expectedOut = c.ref(refs);
      const w = R.random(expectedOut.shape, 'float32', 'any', seed + 100);
      const wrt = differentiated(c);
      const inputs: Input[] = c.args.map((a, k) => (typeof a === 'object' ? R.toTensor(refs[k] as Ref, device, a.layout) : a));
      for (const k of wrt) (inputs[k] as Tensor).requiresGrad_();
      const out = c.run(inputs);
      expect(out.requiresGrad).toBe(true);
      out.backward(R.toTensor(w, device));
      const grads: number[][] = [];
      for (const k of wrt) {
        const g = (inputs[k] as Tensor).grad;
        expect(g, `input ${k} got no gradient`).not.toBeNull();
        expect(g!.shape).toEqual((refs[k] as Ref).shape);
        grads.push(Array.from(await g!.data()));
      }
      wrt.forEach((k, i) => {
        const fd = finiteDifferences(c, refs, k, w);
        const { bad, worst: w1 } = closeness(grads[i]!, fd, c.tol ?? FD_TOL);
        worst = Math.max(worst, w1);
        if (bad >= 0) expect.fail(`input ${k}, element ${bad}: got ${grads[i]![bad]}, finite differences ${fd[bad]}`);
      });
      if (device === 'cpu') cpuGrads.set(key, grads);
      else if (cpuGrads.has(key)) {
        cpuGrads.get(key)!.forEach((want, i) => {
          const { bad } = closeness(grads[i]!, want, DEVICE_TOL);
          if (bad >= 0) expect.fail(`input ${wrt[i]}, element ${bad}: webgpu ${grads[i]![bad]}, cpu ${want[bad]}`);
        });
      }
    });
  }
  it('reports the largest error against finite differences', () => {
    console.log(`gradients on ${device}: ${cases.length} cases, largest error ${worst.toFixed(3)} of the tolerance`);
  });
});
