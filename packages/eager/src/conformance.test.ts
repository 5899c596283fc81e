/**
 * Conformance: every op of the op table, on every device under test, in
 * every layout that matters (contiguous, strided view, broadcast operands,
 * 0-d, empty, sizes 1 and 7, and 1000003 elements for a few ops), against
 * the float64 reference of ./testing/reference. `CASES` is keyed by
 * `OpName`, so an op added to the table without cases does not compile.
 * The composite ops and matmul take their cases from ./testing/op-cases,
 * which the gradient checks share.
 *
 * Tolerances: the correctness rule's float32 rtol 1e-4, atol 1e-5
 * (docs/ARCHITECTURE.md) everywhere. The
 * kernels compute each op in float64 and round once, so they sit far inside
 * it; erf (and the gelu built on it) is an approximation
 * (./ops/approximations) with relative error near 1e-7, inside the rtol,
 * so no op needs a looser one.
 */
import { describe, expect, it } from 'vitest';
import { arange, full, rand, randn } from './creation';
import type { Input } from './dispatch';
import type { DType } from './dtype';
import type { BinaryOp, UnaryOp } from './ops/elementwise';
import type { ReduceOp } from './ops/reductions';
import type { OpName } from './ops/table';
import { OPS } from './ops/table';
import { manualSeed } from './random';
import type { Tensor } from './tensor';
import { devicesUnderTest } from './testing/devices';
import type { Arg, OpCase, OpCases, TensorArg } from './testing/op-cases';
import { argRef, call, index, SHARED_CASES, strided, t } from './testing/op-cases';
import type { Domain, Layout, Ref } from './testing/reference';
import * as R from './testing/reference';

/** A value as stored in `dtype`. */
function store(v: number, dtype: DType): number {
  if (dtype === 'bool') return v !== 0 ? 1 : 0;
  if (dtype === 'int32') return Number.isFinite(v) ? Number(BigInt.asIntN(32, BigInt(Math.trunc(v)))) : 0;
  return v;
}

// ---------------------------------------------------------------- elementwise

interface Elementwise {
  f: (...x: number[]) => number;
  /** Integer math where it differs from f on integers. */
  fInt?: (...x: number[]) => number;
  out: 'promote' | 'float' | 'bool';
  /** Domain of each float argument. */
  domains?: Domain[];
  /** Input dtypes exercised besides float32 ('int32' and 'bool' tensors). */
  also?: DType[];
  /** Values for scalar operand cases, per position. */
  scalars?: number[];
  large?: boolean;
  /** Logical ops are about bool inputs first. */
  main?: DType;
}

function ipow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  return Number(BigInt.asIntN(32, BigInt(a) ** BigInt(b)));
}

/** Round half to even, written differently from the kernel's helper. */
function rint(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

const UNARY_REF: Record<UnaryOp, Elementwise> = {
  neg: { f: (x) => -x, out: 'promote', also: ['int32'] },
  abs: { f: Math.abs, out: 'promote', also: ['int32'] },
  exp: { f: Math.exp, out: 'float', also: ['int32'], large: true },
  log: { f: Math.log, out: 'float', domains: ['positive'], also: ['int32'] },
  sqrt: { f: Math.sqrt, out: 'float', domains: ['positive'], also: ['int32'] },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), out: 'float', domains: ['positive'] },
  sin: { f: Math.sin, out: 'float' },
  cos: { f: Math.cos, out: 'float' },
  tanh: { f: Math.tanh, out: 'float' },
  sigmoid: { f: sigmoid, out: 'float', also: ['int32'] },
  relu: { f: (x) => Math.max(x, 0), out: 'promote', also: ['int32'] },
  erf: { f: R.erf, out: 'float' },
  square: { f: (x) => x * x, out: 'promote', also: ['int32', 'bool'] },
  reciprocal: { f: (x) => 1 / x, out: 'float', domains: ['nonzero'] },
  floor: { f: Math.floor, out: 'promote', domains: ['halves'], also: ['int32'] },
  ceil: { f: Math.ceil, out: 'promote', domains: ['halves'], also: ['int32'] },
  round: { f: rint, out: 'promote', domains: ['halves'], also: ['int32'] },
  sign: { f: Math.sign, out: 'promote', also: ['int32', 'bool'] },
  logicalNot: { f: (x) => Number(x === 0), out: 'bool', main: 'bool', also: ['float32', 'int32'] },
};

const BINARY_REF: Record<BinaryOp, Elementwise> = {
  add: { f: (a, b) => a + b, out: 'promote', also: ['int32', 'bool'], large: true },
  sub: { f: (a, b) => a - b, out: 'promote', also: ['int32'] },
  mul: { f: (a, b) => a * b, out: 'promote', also: ['int32', 'bool'], large: true },
  div: { f: (a, b) => a / b, out: 'float', domains: ['any', 'nonzero'], also: ['int32'], scalars: [1.5, -2.5] },
  pow: { f: Math.pow, fInt: ipow, out: 'promote', domains: ['positive', 'any'], also: ['int32'], scalars: [1.5, 2] },
  maximum: { f: Math.max, out: 'promote', also: ['int32'] },
  minimum: { f: Math.min, out: 'promote', also: ['int32'] },
  eq: { f: (a, b) => Number(a === b), out: 'bool', domains: ['halves', 'halves'], also: ['int32', 'bool'], scalars: [0.5, 1] },
  ne: { f: (a, b) => Number(a !== b), out: 'bool', domains: ['halves', 'halves'], also: ['int32'], scalars: [0.5, 1] },
  lt: { f: (a, b) => Number(a < b), out: 'bool', domains: ['halves', 'halves'], also: ['int32'] },
  le: { f: (a, b) => Number(a <= b), out: 'bool', domains: ['halves', 'halves'], also: ['int32'] },
  gt: { f: (a, b) => Number(a > b), out: 'bool', domains: ['halves', 'halves'], also: ['int32'] },
  ge: { f: (a, b) => Number(a >= b), out: 'bool', domains: ['halves', 'halves'], also: ['int32'] },
  logicalAnd: { f: (a, b) => Number(a !== 0 && b !== 0), out: 'bool', main: 'bool', also: ['float32'] },
  logicalOr: { f: (a, b) => Number(a !== 0 || b !== 0), out: 'bool', main: 'bool', also: ['int32'] },
};

/** Reference of an elementwise op on references and scalars, with the output dtype by the tests' rule. */
function elementwiseRef(spec: Elementwise, args: (Ref | number)[]): Ref {
  const p = R.promote(args);
  const out = spec.out === 'float' ? 'float32' : spec.out === 'bool' ? 'bool' : p;
  const f = p !== 'float32' && spec.fInt ? spec.fInt : spec.f;
  return R.map(out, (...xs) => store(f(...xs), out), ...args);
}

function elementwiseCases(op: OpName, spec: Elementwise, arity: 1 | 2): OpCase[] {
  const main = spec.main ?? 'float32';
  const arg = (k: number, shape: number[], dtype: DType = main, layout: Layout = 'contiguous'): TensorArg =>
    t(shape, { dtype, layout, ...(dtype === 'float32' && spec.domains?.[k] ? { domain: spec.domains[k] } : {}) });
  const c = (name: string, args: Arg[]): OpCase => ({
    name,
    args,
    run: call(op as 'add', {}),
    ref: (refs) => elementwiseRef(spec, refs),
  });
  const cases: OpCase[] = [];
  if (arity === 1) {
    cases.push(
      c('contiguous [3,5]', [arg(0, [3, 5])]),
      c('strided (transposed) [3,5]', [arg(0, [3, 5], main, 'strided')]),
      c('0-d', [arg(0, [])]),
      c('0-d at an offset', [arg(0, [], main, 'strided')]),
      c('empty [0,4]', [arg(0, [0, 4])]),
      c('size 1', [arg(0, [1])]),
      c('odd size 7, step 2', [arg(0, [7], main, 'strided')]),
      ...(spec.also ?? []).map((d) => c(`${d} [2,3,4] strided`, [arg(0, [2, 3, 4], d, 'strided')])),
    );
    if (spec.large) cases.push(c('1000003 elements', [arg(0, [1000003])]));
  } else {
    const [s0, s1] = spec.scalars ?? [2.5, 1.5];
    cases.push(
      c('contiguous [3,5] [3,5]', [arg(0, [3, 5]), arg(1, [3, 5])]),
      c('strided [3,5] with contiguous', [arg(0, [3, 5], main, 'strided'), arg(1, [3, 5])]),
      c('broadcast [3,1] [1,5]', [arg(0, [3, 1]), arg(1, [1, 5])]),
      c('broadcast [2,3,4] with strided [4]', [arg(0, [2, 3, 4]), arg(1, [4], main, 'strided')]),
      c('0-d with [3,5]', [arg(0, []), arg(1, [3, 5])]),
      c('empty [0,5] with [1,5]', [arg(0, [0, 5]), arg(1, [1, 5])]),
      c('odd [7] with [1]', [arg(0, [7]), arg(1, [1])]),
      c(`scalar ${s1} on the right`, [arg(0, [3, 5]), main === 'bool' ? true : s1!]),
      c(`scalar ${s0} on the left`, [main === 'bool' ? false : s0!, arg(1, [3, 5])]),
      ...(spec.also ?? []).flatMap((d) => [
        c(`${d} [3,5] strided with ${d} [5]`, [arg(0, [3, 5], d, 'strided'), arg(1, [5], d)]),
        c(`${d} with ${main}`, [arg(0, [3, 5], d), arg(1, [3, 5])]),
        c(`${d} with an int scalar`, [arg(0, [3, 5], d), 2]),
      ]),
    );
    if (spec.large) cases.push(c('1000003 elements', [arg(0, [1000003]), arg(1, [1000003], main, 'strided')]));
  }
  return cases;
}

const WHERE: OpCases = () => {
  const ref = (refs: (Ref | number)[]) => {
    const [cond, a, b] = refs as [Ref, Ref | number, Ref | number];
    const out = R.promote([a, b]);
    return R.map(out, (c, x, y) => store(c ? x : y, out), cond, a, b);
  };
  const c = (name: string, args: Arg[]): OpCase => ({ name, args, run: call('where', {}), ref });
  const cond = (shape: number[], layout: Layout = 'contiguous') => t(shape, { dtype: 'bool', layout });
  return [
    c('contiguous', [cond([3, 5]), t([3, 5]), t([3, 5])]),
    c('strided condition and branch', [cond([3, 5], 'strided'), t([3, 5], { layout: 'strided' }), t([3, 5])]),
    c('broadcast [3,1] [1,5] scalar', [cond([3, 1]), t([1, 5]), 0]),
    c('int32 branches', [cond([4]), t([4], { dtype: 'int32' }), -1]),
    c('0-d', [cond([]), t([]), t([])]),
    c('empty', [cond([0, 2]), t([0, 2]), t([1, 2])]),
    c('1000003 elements', [cond([1000003]), t([1000003]), 0.5]),
  ];
};

const CAST: OpCases = () => {
  const c = (name: string, to: DType, arg: TensorArg): OpCase => ({
    name,
    args: [arg],
    run: call('cast', { dtype: to }),
    ref: ([x]) => R.map(to, (v) => store(v, to), x as Ref),
  });
  return [
    c('float32 -> int32 truncates', 'int32', t([3, 5])),
    c('float32 -> bool', 'bool', t([3, 5], { domain: 'halves' })),
    c('int32 -> float32 strided', 'float32', strided([3, 5], { dtype: 'int32' })),
    c('bool -> int32', 'int32', t([7], { dtype: 'bool' })),
    c('float32 copy of a strided view', 'float32', strided([2, 3, 4])),
    c('0-d', 'int32', t([])),
    c('empty', 'float32', t([0, 3], { dtype: 'int32' })),
    c('1000003 elements', 'int32', t([1000003])),
  ];
};

// ----------------------------------------------------------------- reductions

type Reducer = (xs: number[]) => number;
const sum: Reducer = (xs) => xs.reduce((a, b) => a + b, 0);
const firstIndex =
  (better: (x: number, best: number) => boolean): Reducer =>
  (xs) =>
    xs.reduce((bi, x, i) => (better(x, xs[bi]!) ? i : bi), 0);

interface Reduction {
  f: Reducer;
  out: (input: DType) => DType;
  emptyOk: boolean;
  also: DType[];
  domain?: Domain;
}

const numeric = (d: DType): DType => (d === 'bool' ? 'int32' : d);

const REDUCTION_REF: Record<ReduceOp | 'mean' | 'var' | 'std' | 'logsumexp', Reduction> = {
  sum: { f: sum, out: numeric, emptyOk: true, also: ['int32', 'bool'] },
  prod: { f: (xs) => xs.reduce((a, b) => a * b, 1), out: numeric, emptyOk: true, also: ['int32'], domain: 'positive' },
  max: { f: (xs) => Math.max(...xs), out: (d) => d, emptyOk: false, also: ['int32', 'bool'] },
  min: { f: (xs) => Math.min(...xs), out: (d) => d, emptyOk: false, also: ['int32'] },
  argmax: { f: firstIndex((x, b) => x > b), out: () => 'int32', emptyOk: false, also: ['int32', 'bool'], domain: 'halves' },
  argmin: { f: firstIndex((x, b) => x < b), out: () => 'int32', emptyOk: false, also: ['int32', 'bool'], domain: 'halves' },
  any: { f: (xs) => Number(xs.some((x) => x !== 0)), out: () => 'bool', emptyOk: true, also: ['bool', 'int32'], domain: 'halves' },
  all: { f: (xs) => Number(xs.every((x) => x !== 0)), out: () => 'bool', emptyOk: true, also: ['bool'], domain: 'halves' },
  mean: { f: (xs) => sum(xs) / xs.length, out: () => 'float32', emptyOk: true, also: ['int32'] },
  var: { f: (xs) => variance(xs, 1), out: () => 'float32', emptyOk: true, also: ['int32'] },
  std: { f: (xs) => Math.sqrt(variance(xs, 1)), out: () => 'float32', emptyOk: true, also: [] },
  logsumexp: {
    f: (xs) => {
      const m = Math.max(...xs);
      return m + Math.log(sum(xs.map((x) => Math.exp(x - m))));
    },
    out: () => 'float32',
    emptyOk: false,
    also: ['int32'],
  },
};

function variance(xs: number[], correction: number): number {
  const m = sum(xs) / xs.length;
  return sum(xs.map((x) => (x - m) ** 2)) / Math.max(xs.length - correction, 0);
}

function reductionCases(op: OpName, spec: Reduction): OpCase[] {
  const c = (name: string, arg: TensorArg, dim: number[] | null, keepdim = false): OpCase => ({
    name,
    args: [arg],
    run: op === 'var' || op === 'std' ? call(op, { dim, keepdim, correction: 1 }) : call(op as 'sum', { dim, keepdim }),
    ref: ([x]) => {
      const r = x as Ref;
      return R.reduce(r, dim, keepdim, spec.out(r.dtype), (xs) => store(spec.f(xs), spec.out(r.dtype)));
    },
  });
  const f = (shape: number[], layout: Layout = 'contiguous', dtype: DType = 'float32') =>
    t(shape, { layout, dtype, ...(spec.domain && dtype === 'float32' ? { domain: spec.domain } : {}) });
  return [
    c('all dims of [3,4,5]', f([3, 4, 5]), null),
    c('dim 1', f([3, 4, 5]), [1]),
    c('dim -1 keepdim', f([3, 4, 5]), [-1], true),
    c('dims [0,2]', f([3, 4, 5]), [0, 2]),
    c('dims [2,0] keepdim of a strided view', f([3, 4, 5], 'strided'), [2, 0], true),
    c('dim 0 of a strided [4,6]', f([4, 6], 'strided'), [0]),
    c('0-d', f([]), null),
    c('odd size 7', f([7], 'strided'), [0]),
    c('empty outer [0,3] over dim 1', f([0, 3]), [1]),
    ...(spec.emptyOk ? [c('empty extent [0,3] over dim 0', f([0, 3]), [0])] : []),
    ...spec.also.map((d) => c(`${d} [3,4] over dim 1`, f([3, 4], 'strided', d), [1])),
    ...(op === 'sum' ? [c('1000003 elements', f([1000003]), null)] : []),
  ];
}

// ------------------------------------------------------------------ movement

const same = (r: Ref) => r;
const MOVEMENT_CASES: OpCases = () => {
  const c = (op: OpName, name: string, arg: TensorArg, run: OpCase['run'], ref: (r: Ref) => Ref): [OpName, OpCase] => [
    op,
    { name, args: [arg], run, ref: ([x]) => ref(x as Ref) },
  ];
  const sliceRef = (dim: number, start: number, step: number, len: number) => (r: Ref) =>
    R.build(
      r.shape.map((s, d) => (d === dim ? len : s)),
      r.dtype,
      (idx) =>
        R.get(
          r,
          idx.map((v, d) => (d === dim ? start + v * step : v)),
        ),
    );
  const list: [OpName, OpCase][] = [
    c('reshape', '[3,4] -> [2,6]', t([3, 4]), call('reshape', { shape: [2, 6] }), (r) => R.reshaped(r, [2, 6])),
    c('reshape', 'strided [3,4] -> [-1] (copies)', strided([3, 4]), call('reshape', { shape: [-1] }), (r) => R.reshaped(r, [12])),
    c('reshape', 'strided [2,3,4] -> [6,4,1] (copies)', strided([2, 3, 4]), call('reshape', { shape: [6, 4, 1] }), (r) =>
      R.reshaped(r, [6, 4, 1]),
    ),
    c('reshape', '0-d -> [1,1]', t([]), call('reshape', { shape: [1, 1] }), (r) => R.reshaped(r, [1, 1])),
    c('reshape', 'empty [0,4] -> [2,0]', t([0, 4]), call('reshape', { shape: [2, 0] }), (r) => R.reshaped(r, [2, 0])),
    c('view', '[3,4] -> [4,3]', t([3, 4]), call('view', { shape: [4, 3] }), (r) => R.reshaped(r, [4, 3])),
    c('view', 'strided [2,3,4] -> [2,3,2,2] (splits a dim, no copy)', strided([2, 3, 4]), call('view', { shape: [2, 3, 2, 2] }), (r) =>
      R.reshaped(r, [2, 3, 2, 2]),
    ),
    c('permute', '[2,3,4] by [2,0,1]', t([2, 3, 4]), call('permute', { dims: [2, 0, 1] }), (r) => R.permute(r, [2, 0, 1])),
    c('permute', 'strided by [-1,0,1]', strided([2, 3, 4]), call('permute', { dims: [-1, 0, 1] }), (r) => R.permute(r, [2, 0, 1])),
    c('transpose', '[3,4]', t([3, 4]), call('transpose', { dim0: 0, dim1: 1 }), (r) => R.permute(r, [1, 0])),
    c('transpose', 'strided [2,3,4] (-1, 0)', strided([2, 3, 4]), call('transpose', { dim0: -1, dim1: 0 }), (r) => R.permute(r, [2, 1, 0])),
    c('unsqueeze', '[3,4] at 1', t([3, 4]), call('unsqueeze', { dim: 1 }), (r) => R.reshaped(r, [3, 1, 4])),
    c('unsqueeze', 'strided at -1', strided([3, 4]), call('unsqueeze', { dim: -1 }), (r) => R.reshaped(r, [3, 4, 1])),
    c('unsqueeze', '0-d', t([]), call('unsqueeze', { dim: 0 }), (r) => R.reshaped(r, [1])),
    c('squeeze', '[1,3,1] all', t([1, 3, 1]), call('squeeze', { dim: null }), (r) => R.reshaped(r, [3])),
    c('squeeze', '[1,3,1] dims [0,1] (size 3 stays)', t([1, 3, 1]), call('squeeze', { dim: [0, 1] }), (r) => R.reshaped(r, [3, 1])),
    c('expand', '[3,1] -> [2,3,4]', t([3, 1]), call('expand', { shape: [2, 3, 4] }), (r) =>
      R.build([2, 3, 4], r.dtype, (idx) => R.get(r, [idx[1]!, 0])),
    ),
    c('expand', 'strided [1,3] with -1', strided([1, 3]), call('expand', { shape: [2, -1] }), (r) =>
      R.build([2, 3], r.dtype, (idx) => R.get(r, [0, idx[1]!])),
    ),
    c('expand', '0-d -> [2,2]', t([]), call('expand', { shape: [2, 2] }), (r) => R.build([2, 2], r.dtype, () => r.data[0]!)),
    c('flatten', '[2,3,4] dims 1..2', t([2, 3, 4]), call('flatten', { startDim: 1, endDim: 2 }), (r) => R.reshaped(r, [2, 12])),
    c('flatten', 'strided [2,3,4] all (copies)', strided([2, 3, 4]), call('flatten', { startDim: 0, endDim: -1 }), (r) =>
      R.reshaped(r, [24]),
    ),
    c('flatten', '0-d', t([]), call('flatten', { startDim: 0, endDim: -1 }), (r) => R.reshaped(r, [1])),
    c('slice', '[10] 2:9:3', t([10]), call('slice', { dim: 0, start: 2, end: 9, step: 3 }), sliceRef(0, 2, 3, 3)),
    c(
      'slice',
      'strided [4,6] dim 1 -4::2',
      strided([4, 6]),
      call('slice', { dim: 1, start: -4, end: Infinity, step: 2 }),
      sliceRef(1, 2, 2, 2),
    ),
    c('slice', 'empty result', t([3, 4]), call('slice', { dim: 0, start: 2, end: 1, step: 1 }), sliceRef(0, 2, 1, 0)),
    c('contiguous', 'of a strided view', strided([3, 5]), call('contiguous', {}), same),
    c('contiguous', 'of a contiguous tensor', t([3, 5], { dtype: 'int32' }), call('contiguous', {}), same),
    c(
      'asStrided',
      'a transposed [3,4] block of 20 elements at offset 2',
      t([20]),
      call('asStrided', { shape: [3, 4], strides: [1, 4], offset: 2 }),
      (r) => R.build([3, 4], r.dtype, ([i, j]) => r.data[2 + i! + 4 * j!]!),
    ),
    c(
      'asStrided',
      'of a strided 1-D view (copies first)',
      strided([12]),
      call('asStrided', { shape: [2, 3], strides: [6, 2], offset: 1 }),
      (r) => R.build([2, 3], r.dtype, ([i, j]) => r.data[1 + 6 * i! + 2 * j!]!),
    ),
  ];
  return list.map(([op, k]) => ({ ...k, name: `${op}: ${k.name}` }));
};
const movementFor =
  (op: OpName): OpCases =>
  () =>
    MOVEMENT_CASES()
      .filter((k) => k.name.startsWith(`${op}: `))
      .map((k) => ({ ...k, name: k.name.slice(op.length + 2) }));

// ------------------------------------------------------------------ the rest

const CAT: OpCases = () => {
  const ref = (dim: number) => (refs: (Ref | number)[]) => {
    const rs = refs as Ref[];
    const d = dim < 0 ? dim + rs[0]!.shape.length : dim;
    const shape = [...rs[0]!.shape];
    shape[d] = rs.reduce((n, r) => n + r.shape[d]!, 0);
    const out = R.promote(rs);
    return R.build(shape, out, (idx) => {
      let i = idx[d]!;
      for (const r of rs) {
        if (i < r.shape[d]!)
          return R.get(
            r,
            idx.map((v, k) => (k === d ? i : v)),
          );
        i -= r.shape[d]!;
      }
      throw new Error('unreachable');
    });
  };
  const c = (name: string, args: TensorArg[], dim: number): OpCase => ({ name, args, run: call('cat', { dim }), ref: ref(dim) });
  return [
    c('[2,3] [4,3] dim 0', [t([2, 3]), t([4, 3])], 0),
    c('strided [2,3] with [2,1] dim 1', [strided([2, 3]), t([2, 1])], 1),
    c('int32 with float32 promotes, dim -1', [t([2, 2], { dtype: 'int32' }), t([2, 3])], -1),
    c('with an empty piece', [t([0, 3]), t([2, 3]), strided([1, 3])], 0),
    c('one tensor', [t([7])], 0),
  ];
};

const GATHER: OpCases = () => {
  const ref =
    (dim: number) =>
    ([x, i]: (Ref | number)[]) => {
      const [xr, ir] = [x as Ref, i as Ref];
      return R.build(ir.shape, xr.dtype, (idx) =>
        R.get(
          xr,
          idx.map((v, d) => (d === dim ? R.get(ir, idx) : v)),
        ),
      );
    };
  const c = (name: string, x: TensorArg, i: TensorArg, dim: number): OpCase => ({
    name,
    args: [x, i],
    run: call('gather', { dim }),
    ref: ref(dim),
  });
  return [
    c('dim 1', t([3, 4]), index([3, 6], 4), 1),
    c('dim 0 of a strided input', strided([4, 5]), index([2, 5], 4), 0),
    c('strided index, int32 input', t([5, 5], { dtype: 'int32' }), index([5, 3], 5, 'strided'), 0),
    c('1-D', t([7]), index([10], 7), 0),
    c('empty index', t([3, 4]), index([0, 4], 3), 0),
  ];
};

/** Cases that create tensors take the device from the suite. */
let DEVICE: 'cpu' | 'webgpu' = 'cpu';

const FULL: OpCases = () => [
  { name: '[2,3] float', args: [], run: () => full([2, 3], 1.5, { device: DEVICE }), ref: () => R.build([2, 3], 'float32', () => 1.5) },
  { name: 'int32', args: [], run: () => full([4], 7, { dtype: 'int32', device: DEVICE }), ref: () => R.build([4], 'int32', () => 7) },
  { name: 'bool', args: [], run: () => full([2], true, { device: DEVICE }), ref: () => R.build([2], 'bool', () => 1) },
  { name: '0-d', args: [], run: () => full([], -2, { device: DEVICE }), ref: () => R.build([], 'float32', () => -2) },
  { name: 'empty', args: [], run: () => full([0, 3], 1, { device: DEVICE }), ref: () => R.build([0, 3], 'float32', () => 1) },
];

const ARANGE: OpCases = () => [
  { name: '0..7 int32', args: [], run: () => arange(7, { device: DEVICE }), ref: () => R.build([7], 'int32', ([i]) => i!) },
  {
    name: '1 to 0 step -0.25',
    args: [],
    run: () => arange(1, 0, -0.25, { device: DEVICE }),
    ref: () => R.build([4], 'float32', ([i]) => 1 - 0.25 * i!),
  },
  { name: 'empty', args: [], run: () => arange(3, 3, 1, { device: DEVICE }), ref: () => R.build([0], 'int32', () => 0) },
];

const randomCases =
  (dist: 'uniform' | 'normal'): OpCases =>
  () => {
    const make = dist === 'uniform' ? rand : randn;
    const c = (name: string, shape: number[], seed: number, skip = 0): OpCase => ({
      name,
      args: [],
      run: () => {
        manualSeed(seed);
        if (skip > 0) make([skip], { device: DEVICE }).dispose();
        return make(shape, { device: DEVICE });
      },
      ref: () => ({ shape, dtype: 'float32', data: R.streamRef(R.size(shape), dist, seed, skip) }),
    });
    return [
      c('[3,5] seed 0', [3, 5], 0),
      c('odd 7 after 3 numbers (unaligned offset)', [7], 42, 3),
      c('seed above 2^32', [2, 4], 2 ** 40 + 5),
      c('0-d', [], 1),
      c('empty', [0], 1),
      // Enough numbers for angles in every quadrant and logs near 0 and 1, where a device's own log, sin and cos are least accurate.
      c('2^20 numbers', [1 << 20], 3),
    ];
  };

const COPY: OpCases = () => {
  const c = (name: string, dst: TensorArg, src: TensorArg): OpCase => ({
    name,
    args: [dst, src],
    run: ([d, s]) => (d as Tensor).copy_(s as Tensor),
    ref: ([d, s]) => R.map((d as Ref).dtype, (_, v) => store(v, (d as Ref).dtype), d as Ref, s as Ref),
  });
  return [
    c('into a strided view', strided([3, 5]), t([3, 5])),
    c('broadcast source', strided([3, 5]), t([1, 5])),
    c('int32 source into float32', t([4]), t([4], { dtype: 'int32' })),
    c('float32 source into int32 truncates', t([2, 3], { dtype: 'int32' }), strided([2, 3])),
    c('0-d', t([]), t([])),
  ];
};

const FILL: OpCases = () => {
  const c = (name: string, dst: TensorArg, value: number): OpCase => ({
    name,
    args: [dst],
    run: ([d]) => (d as Tensor).fill_(value),
    ref: ([d]) => R.map((d as Ref).dtype, () => store(value, (d as Ref).dtype), d as Ref),
  });
  return [c('strided float32', strided([3, 4]), -0.5), c('int32', t([5], { dtype: 'int32' }), 3), c('bool', t([2], { dtype: 'bool' }), 1)];
};

const TO: OpCases = () => [
  { name: 'strided to the suite device', args: [strided([3, 4])], run: ([x]) => (x as Tensor).to(DEVICE), ref: ([x]) => x as Ref },
  { name: 'int32', args: [t([5], { dtype: 'int32' })], run: ([x]) => (x as Tensor).to(DEVICE), ref: ([x]) => x as Ref },
];

const CASES: Record<OpName, OpCases> = {
  ...(Object.fromEntries(Object.entries(UNARY_REF).map(([op, spec]) => [op, () => elementwiseCases(op as OpName, spec, 1)])) as Record<
    keyof typeof UNARY_REF,
    OpCases
  >),
  ...(Object.fromEntries(Object.entries(BINARY_REF).map(([op, spec]) => [op, () => elementwiseCases(op as OpName, spec, 2)])) as Record<
    keyof typeof BINARY_REF,
    OpCases
  >),
  ...(Object.fromEntries(Object.entries(REDUCTION_REF).map(([op, spec]) => [op, () => reductionCases(op as OpName, spec)])) as Record<
    keyof typeof REDUCTION_REF,
    OpCases
  >),
  where: WHERE,
  cast: CAST,
  reshape: movementFor('reshape'),
  view: movementFor('view'),
  permute: movementFor('permute'),
  transpose: movementFor('transpose'),
  unsqueeze: movementFor('unsqueeze'),
  squeeze: movementFor('squeeze'),
  expand: movementFor('expand'),
  flatten: movementFor('flatten'),
  slice: movementFor('slice'),
  contiguous: movementFor('contiguous'),
  asStrided: movementFor('asStrided'),
  scatterView: () => {
    const ref =
      (shape: number[], strides: number[], offset: number) =>
      ([b, s]: (Ref | number)[]) => {
        const [base, src] = [b as Ref, s as Ref];
        const data = [...base.data];
        R.build(shape, src.dtype, (idx) => (data[offset + idx.reduce((n, v, d) => n + v * strides[d]!, 0)] = R.get(src, idx)));
        return { ...base, data };
      };
    return [
      {
        name: 'a [2,3] block with row stride 5 at offset 4',
        args: [t([16]), t([2, 3])],
        run: call('scatterView', { shape: [2, 3], strides: [5, 1], offset: 4 }),
        ref: ref([2, 3], [5, 1], 4),
      },
      {
        name: 'every other element, int32, into a strided base (read through its view)',
        args: [strided([9], { dtype: 'int32' }), t([4], { dtype: 'int32' })],
        run: call('scatterView', { shape: [4], strides: [2], offset: 1 }),
        ref: ref([4], [2], 1),
      },
    ];
  },
  cat: CAT,
  gather: GATHER,
  full: FULL,
  arange: ARANGE,
  rand: randomCases('uniform'),
  randn: randomCases('normal'),
  copy_: COPY,
  fill_: FILL,
  to: TO,
  // The composite ops and matmul: ./testing/op-cases.
  ...SHARED_CASES,
};

/** Every (op, case) pair; exported as a count so reports can quote it. */
export const conformanceCases = (Object.keys(OPS) as OpName[]).flatMap((op) => CASES[op]().map((c) => ({ op, c })));

describe.each(await devicesUnderTest())('conformance on %s', (device) => {
  it(`covers every op of the table (${conformanceCases.length} cases per device)`, () => {
    expect(new Set(conformanceCases.map((k) => k.op))).toEqual(new Set(Object.keys(OPS)));
    console.log(`conformance: ${conformanceCases.length} cases on ${device}`);
  });

  for (const { op, c } of conformanceCases) {
    it(`${op}: ${c.name}`, async () => {
      DEVICE = device;
      let seed = 1;
      for (const ch of `${op}:${c.name}`) seed = Math.imul(seed ^ ch.charCodeAt(0), 0x01000193) >>> 0;
      const refs = c.args.map((a, k) => argRef(a, seed + k));
      const inputs: Input[] = c.args.map((a, k) => (typeof a === 'object' ? R.toTensor(refs[k] as Ref, device, a.layout) : a));
      const expected = c.ref(refs);
      const out = c.run(inputs);
      expect(out.device).toBe(device);
      await R.expectClose(out, expected, c.tol);
    });
  }
});
