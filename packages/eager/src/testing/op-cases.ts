/**
 * The cases of the composite ops and matmul, for both the forward
 * conformance test (../conformance.test) and the gradient checks
 * (../autograd/rules.test): each case's arguments, the kiln call, and the
 * float64 reference (./reference) of its result. Each test adds its own
 * checks (tolerances and devices; finite differences); the gradient checks
 * skip the cases marked `forwardOnly`. `SHARED_CASES` is keyed by op, so a
 * composite op added without cases does not compile.
 */
import type { Input } from '../dispatch';
import { dispatch } from '../dispatch';
import type { DType } from '../dtype';
import { F } from '../functional';
import type { AttrsOf, CompositeOp, OpName } from '../ops/table';
import { manualSeed } from '../random';
import type { Tensor } from '../tensor';
import type { Domain, Layout, Ref, Tolerance } from './reference';
import * as R from './reference';

export interface TensorArg {
  shape: number[];
  dtype: DType;
  domain: Domain;
  layout: Layout;
  /** Fixed values instead of random ones. */
  data?: number[];
}
/** Numbers and booleans are scalar operands. */
export type Arg = TensorArg | number | boolean;

export interface OpCase {
  name: string;
  args: Arg[];
  run: (inputs: Input[]) => Tensor;
  ref: (refs: (Ref | number)[]) => Ref;
  tol?: Tolerance;
  /** The gradient checks skip it: it has no float input to differentiate, or is too large for finite differences. */
  forwardOnly?: true;
}

export type OpCases = () => OpCase[];

export const t = (shape: number[], o: Partial<Omit<TensorArg, 'shape'>> = {}): TensorArg => {
  const dtype = o.dtype ?? 'float32';
  const domain = o.domain ?? (dtype === 'int32' ? 'int' : dtype === 'bool' ? 'bool' : 'any');
  return { shape, dtype, domain, layout: o.layout ?? 'contiguous', ...(o.data ? { data: o.data } : {}) };
};
export const strided = (shape: number[], o: Partial<Omit<TensorArg, 'shape'>> = {}) => t(shape, { ...o, layout: 'strided' });
/** int32 indices in [0, below). */
export const index = (shape: number[], below: number, layout: Layout = 'contiguous') =>
  t(shape, { dtype: 'int32', domain: { below }, layout });

export const call =
  <N extends OpName>(op: N, attrs: AttrsOf[N]) =>
  (ins: readonly Input[]) =>
    dispatch(op, ins, attrs);

/** The reference value of an argument: a tensor's fixed values or random ones from `seed`; a scalar as a number. */
export function argRef(a: Arg, seed: number): Ref | number {
  if (typeof a !== 'object') return Number(a);
  return a.data ? { shape: [...a.shape], dtype: a.dtype, data: a.data } : R.random(a.shape, a.dtype, a.domain, seed);
}

/** mean, var, std and logsumexp are checked with the reductions. */
export type SharedOp = Exclude<CompositeOp, 'mean' | 'var' | 'std' | 'logsumexp'> | 'matmul';

/** tril / triu on a matrix, batches of strided matrices and a non-square int32 one, at diagonals 0, 1 and -1. */
function triangleCases(op: 'tril' | 'triu', keep: (i: number, j: number, k: number) => boolean): OpCase[] {
  const ref =
    (k: number) =>
    ([x]: (Ref | number)[]) => {
      const xr = x as Ref;
      return R.build(xr.shape, xr.dtype, (idx) => (keep(idx.at(-2)!, idx.at(-1)!, k) ? R.get(xr, idx) : 0));
    };
  const c = (name: string, arg: TensorArg, k: number): OpCase => ({ name, args: [arg], run: call(op, { diagonal: k }), ref: ref(k) });
  return [
    c('square, diagonal 0', t([4, 4]), 0),
    c('wide batch, strided, diagonal 1', strided([2, 3, 5]), 1),
    c('[2,3,4] diagonal 0', strided([2, 3, 4]), 0),
    c('[2,3,4] diagonal -1', strided([2, 3, 4]), -1),
    { ...c('tall int32, diagonal -1', t([5, 3], { dtype: 'int32' }), -1), forwardOnly: true },
  ];
}

export const SHARED_CASES: { [N in SharedOp]: OpCases } = {
  clamp: () => {
    const c = (name: string, arg: TensorArg, min: number | null, max: number | null, out: DType = 'float32'): OpCase => ({
      name,
      args: [arg],
      run: call('clamp', { min, max }),
      ref: ([x]) => R.map(out, (v) => Math.min(Math.max(v, min ?? -Infinity), max ?? Infinity), x as Ref),
    });
    return [
      c('min and max', t([3, 5]), -1, 0.5),
      c('min only, strided', strided([3, 5]), 0, null),
      c('max only, strided', strided([3, 4]), null, 0),
      { ...c('int32 with int bounds stays int32', t([7], { dtype: 'int32' }), -2, 3, 'int32'), forwardOnly: true },
      { ...c('int32 with a float bound is float32', t([7], { dtype: 'int32' }), null, 2.5), forwardOnly: true },
    ];
  },
  gelu: () => {
    const exact = (name: string, arg: TensorArg): OpCase => ({
      name,
      args: [arg],
      run: ([x]) => F.gelu(x as Tensor),
      ref: ([x]) => R.map('float32', R.gelu, x as Ref),
    });
    const tanh = (name: string, arg: TensorArg): OpCase => ({
      name,
      args: [arg],
      run: ([x]) => F.gelu(x as Tensor, { approximate: 'tanh' }),
      ref: ([x]) => R.map('float32', R.geluTanh, x as Ref),
    });
    return [
      exact('exact', t([3, 5])),
      tanh('tanh, strided [3,5]', strided([3, 5])),
      tanh('tanh, strided [3,4]', strided([3, 4])),
      { ...exact('int32 input', t([7], { dtype: 'int32' })), forwardOnly: true },
      exact('0-d', t([])),
    ];
  },
  silu: () => {
    const c = (name: string, arg: TensorArg): OpCase => ({
      name,
      args: [arg],
      run: ([x]) => F.silu(x as Tensor),
      ref: ([x]) => R.map('float32', (v) => v / (1 + Math.exp(-v)), x as Ref),
    });
    return [c('strided [3,5]', strided([3, 5])), c('strided [3,4]', strided([3, 4])), c('empty', t([0, 5]))];
  },
  softmax: () => {
    const c = (name: string, arg: TensorArg, dim: number): OpCase => ({
      name,
      args: [arg],
      run: ([x]) => F.softmax(x as Tensor, dim),
      ref: ([x]) => R.alongDim(x as Ref, dim, R.softmaxRow),
    });
    return [
      c('dim -1', t([3, 5]), -1),
      c('dim 0 of a strided [4,6]', strided([4, 6]), 0),
      c('dim 0 of a strided [4,3]', strided([4, 3]), 0),
      { ...c('odd row 7, int32 input', t([2, 7], { dtype: 'int32' }), 1), forwardOnly: true },
    ];
  },
  logSoftmax: () => {
    const c = (name: string, arg: TensorArg, dim: number): OpCase => ({
      name,
      args: [arg],
      run: ([x]) => F.logSoftmax(x as Tensor, dim),
      ref: ([x]) => R.alongDim(x as Ref, dim, (r) => R.softmaxRow(r).map(Math.log)),
    });
    return [c('dim -1', t([3, 5]), -1), c('dim 1 of a strided [2,3,4]', strided([2, 3, 4]), 1)];
  },
  layerNorm: () => [
    { name: 'no affine', args: [t([3, 8])], run: ([x]) => F.layerNorm(x as Tensor, [8]), ref: ([x]) => R.layerNormRef(x as Ref, 1, 1e-5) },
    {
      name: 'weight and bias over 2 dims, strided input',
      args: [strided([2, 3, 4]), t([3, 4]), t([3, 4])],
      run: ([x, w, b]) => F.layerNorm(x as Tensor, [3, 4], w as Tensor, b as Tensor, 1e-3),
      ref: ([x, w, b]) => R.layerNormRef(x as Ref, 2, 1e-3, w as Ref, b as Ref),
    },
    {
      name: 'weight only',
      args: [t([4, 5]), t([5])],
      run: ([x, w]) => F.layerNorm(x as Tensor, [5], w as Tensor),
      ref: ([x, w]) => R.layerNormRef(x as Ref, 1, 1e-5, w as Ref),
    },
    {
      name: 'bias only',
      args: [t([2, 5]), t([5])],
      run: ([x, b]) => F.layerNorm(x as Tensor, [5], undefined, b as Tensor),
      ref: ([x, b]) => R.layerNormRef(x as Ref, 1, 1e-5, undefined, b as Ref),
    },
  ],
  rmsNorm: () => [
    {
      name: 'default eps',
      args: [t([3, 8])],
      run: ([x]) => F.rmsNorm(x as Tensor, [8]),
      // float32's machine epsilon, like PyTorch.
      ref: ([x]) => R.rmsNormRef(x as Ref, 1, 2 ** -23),
    },
    {
      name: 'weight, strided',
      args: [strided([4, 6]), t([6])],
      run: ([x, w]) => F.rmsNorm(x as Tensor, [6], w as Tensor, 1e-6),
      ref: ([x, w]) => R.rmsNormRef(x as Ref, 1, 1e-6, w as Ref),
    },
  ],
  linear: () => {
    const ref = ([x, w, b]: (Ref | number)[]) => {
      const y = R.matmul(x as Ref, R.permute(w as Ref, [1, 0]));
      return b === undefined ? y : R.map('float32', (p, q) => p + q, y, b as Ref);
    };
    return [
      { name: 'with bias', args: [t([4, 6]), t([3, 6]), t([3])], run: ([x, w, b]) => F.linear(x as Tensor, w as Tensor, b as Tensor), ref },
      {
        name: 'no bias, batched, strided weight',
        args: [t([2, 4, 6]), strided([3, 6])],
        run: ([x, w]) => F.linear(x as Tensor, w as Tensor),
        ref,
      },
      { name: '1-D input', args: [t([6]), t([3, 6])], run: ([x, w]) => F.linear(x as Tensor, w as Tensor), ref },
      { name: 'empty rows and weight', args: [t([0, 6]), t([0, 6])], run: ([x, w]) => F.linear(x as Tensor, w as Tensor), ref },
    ];
  },
  embedding: () => {
    const c = (name: string, indices: TensorArg): OpCase => ({
      name,
      args: [indices, strided([5, 4])],
      run: ([i, w]) => F.embedding(i as Tensor, w as Tensor),
      ref: ([i, w]) => R.build([2, 3, 4], 'float32', (idx) => R.get(w as Ref, [R.get(i as Ref, idx.slice(0, 2)), idx[2]!])),
    });
    return [
      c('[2,3] indices into [5,4]', index([2, 3], 5)),
      c('[2,3] indices (repeats) into [5,4]', t([2, 3], { dtype: 'int32', data: [1, 4, 1, 0, 4, 4] })),
    ];
  },
  dropout: () => [
    { name: 'not training is the identity', args: [t([3, 5])], run: ([x]) => F.dropout(x as Tensor, 0.5, false), ref: ([x]) => x as Ref },
    { name: 'not training, 1-D', args: [t([4])], run: ([x]) => F.dropout(x as Tensor, 0.5, false), ref: ([x]) => x as Ref },
    {
      name: 'p 0.3 from the Philox stream',
      args: [strided([3, 5])],
      run: ([x]) => {
        manualSeed(11);
        return F.dropout(x as Tensor, 0.3);
      },
      ref: ([x]) => {
        const u = R.streamRef(15, 'uniform', 11);
        const r = x as Ref;
        return { ...r, data: r.data.map((v, i) => (u[i]! >= 0.3 ? v / 0.7 : 0)) };
      },
    },
    {
      name: 'p 1 zeroes everything',
      args: [t([4])],
      run: ([x]) => F.dropout(x as Tensor, 1),
      ref: ([x]) => R.map('float32', () => 0, x as Ref),
    },
  ],
  scaledDotProductAttention: () => {
    // A fourth argument is the mask.
    const c = (name: string, args: TensorArg[], o: { causal?: boolean; scale?: number } = {}): OpCase => ({
      name,
      args,
      run: ([q, k, v, m]) =>
        F.scaledDotProductAttention(q as Tensor, k as Tensor, v as Tensor, {
          attnMask: m as Tensor | undefined,
          isCausal: o.causal,
          scale: o.scale,
        }),
      ref: ([q, k, v, m]) => R.attentionRef(q as Ref, k as Ref, v as Ref, { ...o, mask: m as Ref | undefined }),
    });
    const [q, k, v] = [t([2, 3, 4]), t([2, 5, 4]), t([2, 5, 6])];
    return [
      c('plain', [q, k, v]),
      c('plain, k and v broadcast over the batch', [q, t([5, 4]), t([1, 5, 2])]),
      c('causal, square, strided k', [t([2, 4, 4]), strided([2, 4, 4]), t([2, 4, 3])], { causal: true }),
      c('causal, strided k', [t([2, 4, 3]), strided([2, 4, 3]), t([2, 4, 3])], { causal: true }),
      c('bool mask [3,5] broadcast, scale 0.5', [q, k, v, t([3, 5], { dtype: 'bool' })], { scale: 0.5 }),
      c('bool mask', [t([1, 3, 2]), t([1, 4, 2]), t([1, 4, 3]), t([3, 4], { dtype: 'bool', data: [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1] })]),
      c('float mask', [q, k, v, t([2, 3, 5])]),
      c('float mask [3,5] broadcast, scale 0.5', [q, k, t([2, 5, 2]), t([3, 5])], { scale: 0.5 }),
    ];
  },
  crossEntropy: () => {
    const c = (reduction: 'mean' | 'sum' | 'none', ref: (rows: number[]) => Ref): OpCase => ({
      name: reduction,
      args: [t([6, 5]), index([6], 5)],
      run: ([l, y]) => F.crossEntropy(l as Tensor, y as Tensor, { reduction }),
      ref: ([l, y]) => ref(R.crossEntropyRows(l as Ref, y as Ref)),
    });
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return [
      c('mean', (rows) => ({ shape: [], dtype: 'float32', data: [sum(rows) / rows.length] })),
      c('sum', (rows) => ({ shape: [], dtype: 'float32', data: [sum(rows)] })),
      c('none', (rows) => ({ shape: [rows.length], dtype: 'float32', data: rows })),
    ];
  },
  stack: () => {
    const ref = (dim: number) => (refs: (Ref | number)[]) => {
      const rs = refs as Ref[];
      const rank = rs[0]!.shape.length + 1;
      const d = dim < 0 ? dim + rank : dim;
      const shape = [...rs[0]!.shape];
      shape.splice(d, 0, rs.length);
      return R.build(shape, R.promote(rs), (idx) =>
        R.get(
          rs[idx[d]!]!,
          idx.filter((_, k) => k !== d),
        ),
      );
    };
    const c = (name: string, args: TensorArg[], dim: number): OpCase => ({ name, args, run: call('stack', { dim }), ref: ref(dim) });
    return [
      c('dim 0', [t([2, 3]), strided([2, 3])], 0),
      c('dim 1 of two [2,3]', [t([2, 3]), strided([2, 3])], 1),
      c('dim -1, three tensors', [t([4]), t([4]), t([4], { dtype: 'int32' })], -1),
    ];
  },
  indexSelect: () => {
    const ref =
      (dim: number) =>
      ([x, i]: (Ref | number)[]) => {
        const [xr, ir] = [x as Ref, i as Ref];
        return R.build(
          xr.shape.map((s, d) => (d === dim ? ir.data.length : s)),
          xr.dtype,
          (idx) =>
            R.get(
              xr,
              idx.map((v, d) => (d === dim ? ir.data[v]! : v)),
            ),
        );
      };
    const c = (name: string, args: TensorArg[], dim: number): OpCase => ({ name, args, run: call('indexSelect', { dim }), ref: ref(dim) });
    return [
      c('dim 0 with repeats', [t([4, 3]), index([6], 4)], 0),
      c('dim 1 of a strided view', [strided([3, 5]), index([2], 5)], 1),
      c('dim 1 with repeats, strided input', [strided([3, 5]), t([4], { dtype: 'int32', data: [4, 0, 4, 2] })], 1),
      c('dim 0 of [4,2,3], 0-d index', [t([4, 2, 3]), t([], { dtype: 'int32', data: [2] })], 0),
    ];
  },
  clone: () => {
    const c = (name: string, arg: TensorArg): OpCase => ({ name, args: [arg], run: call('clone', {}), ref: ([x]) => x as Ref });
    return [
      c('a strided view', strided([3, 5])),
      c('a strided [3,4] view', strided([3, 4])),
      { ...c('int32', t([7], { dtype: 'int32' })), forwardOnly: true },
    ];
  },
  tril: () => triangleCases('tril', (i, j, k) => j - i <= k),
  triu: () => triangleCases('triu', (i, j, k) => j - i >= k),
  maskedFill: () => {
    const c = (name: string, x: TensorArg, mask: TensorArg, value: number): OpCase => ({
      name,
      args: [x, mask],
      run: call('maskedFill', { value }),
      ref: ([x, m]) => R.map((x as Ref).dtype, (v, fill) => (fill ? value : v), x as Ref, m as Ref),
    });
    return [
      c('a row mask broadcast over a matrix', t([3, 4]), t([4], { dtype: 'bool' }), -1.5),
      c('a fixed row mask broadcast', t([3, 4]), t([4], { dtype: 'bool', data: [1, 0, 0, 1] }), -1.5),
      {
        ...c('an int32 input keeps its dtype', t([2, 3], { dtype: 'int32' }), t([2, 3], { dtype: 'bool' }), 7),
        forwardOnly: true,
      },
    ];
  },
  matmul: () => {
    const c = (name: string, a: TensorArg, b: TensorArg): OpCase => ({
      name,
      args: [a, b],
      run: call('matmul', {}),
      ref: ([x, y]) => R.matmul(x as Ref, y as Ref),
    });
    return [
      c('[3,4] @ [4,5]', t([3, 4]), t([4, 5])),
      c('odd [7,9] @ [9,5]', t([7, 9]), t([9, 5])),
      c('transposed operands', strided([5, 6]), strided([6, 3])),
      c('transposed operands [3,4] @ [4,2]', strided([3, 4]), strided([4, 2])),
      c('batched broadcast [2,1,3,4] @ [3,4,2]', t([2, 1, 3, 4]), t([3, 4, 2])),
      c('1-D @ 1-D -> 0-d', t([4]), t([4])),
      c('1-D @ strided 1-D -> 0-d', t([6]), strided([6])),
      c('1-D @ 2-D', t([4]), t([4, 3])),
      c('1-D @ batched', t([3]), t([2, 3, 2])),
      c('2-D @ 1-D', t([3, 4]), t([4])),
      c('batched @ 1-D', t([2, 3, 4]), t([4])),
      c('[1,7] @ [7,1]', t([1, 7]), t([7, 1])),
      c('inner size 0 gives zeros', t([3, 0]), t([0, 2])),
      c('empty rows', t([0, 4]), t([4, 2])),
      { ...c('int32', t([3, 4], { dtype: 'int32' }), strided([4, 5], { dtype: 'int32' })), forwardOnly: true },
      { ...c('[65,33] @ [33,17] (row blocks with a remainder)', t([65, 33]), strided([33, 17])), forwardOnly: true },
    ];
  },
};
