/**
 * The backward rules: for every op of the op table, its vector-Jacobian
 * product written with kiln ops (so a rule runs on every device and can be
 * traced like any other code), or an explicit mark. The table is total
 * over `OpName`: an op added without an entry does not compile.
 *
 * - a rule: `vjp(grad, ctx)` gives the gradient of each input from the
 *   gradient of the output (null where an input needs none). A gradient may
 *   keep the output's broadcast shape; the engine sums it to the input's
 *   shape (./backward `sumTo`). `save` lists what the rule reads at
 *   backward time (input positions, 'output'); nothing else is kept.
 * - `'decomposition'` (composites only): the op is recorded as the ops its
 *   decomposition dispatches, and differentiates through their rules.
 *   Composites with a rule here run their decomposition unrecorded and
 *   record one node (cheaper, fewer saved tensors, or better numerics).
 * - `NOT_DIFFERENTIABLE`: the result never requires grad (comparisons,
 *   logical ops, indices, creation and random ops).
 */
import { KilnError } from '@kiln/gpu-runtime';
import { arange, full } from '../creation';
import type { Input } from '../dispatch';
import { dispatch } from '../dispatch';
import { attentionWeights } from '../ops/decompositions';
import type { AttrsOf, CompositeOp, OpName, TensorMeta } from '../ops/table';
import { reduceDims, reducedShape } from '../ops/table';
import type { Tensor } from '../tensor';
import { normalizeDim, numelOf, sliceBounds } from '../view';
import type { ViewStep, VjpContext } from './node';

/** What a rule reads at backward time: input positions (tensors; scalars are always at hand) and 'output'. */
export type Saves = readonly (number | 'output')[];

export interface VjpRule<N extends OpName> {
  /** What to keep for backward; a function when it depends on which inputs need a gradient. Default: nothing. */
  readonly save?: Saves | ((needs: readonly boolean[], attrs: AttrsOf[N]) => Saves);
  /** Each input's gradient from the output's gradient `grad` (null: none). Runs with grad mode off. */
  readonly vjp: (grad: Tensor, ctx: VjpContext<N>) => readonly (Tensor | null)[];
}

export const NOT_DIFFERENTIABLE = 'not differentiable';
export type NotDifferentiable = typeof NOT_DIFFERENTIABLE;

/** A row of the table: a rule, a mark, or (composites only) differentiation through the decomposition. */
export type VjpEntry<N extends OpName> = VjpRule<N> | NotDifferentiable | (N extends CompositeOp ? 'decomposition' : never);

// ------------------------------------------------------------------ helpers

const where = (cond: Input, a: Input, b: Input): Tensor => dispatch('where', [cond, a, b], {});
const zerosLike = (m: TensorMeta): Tensor => full(m.shape, 0, { device: m.device });
const float = (x: Tensor): Tensor => (x.dtype === 'float32' ? x : x.cast('float32'));
const tensorIn = (c: VjpContext, i: number) => c.input(i) as Tensor;
const metaIn = (c: VjpContext, i: number) => c.inputs[i] as TensorMeta;

/** `grad` as a function of input 0 alone. */
const unary = <N extends OpName>(save: Saves, f: (g: Tensor, c: VjpContext<N>) => Tensor): VjpRule<N> => ({
  save,
  vjp: (g, c) => [f(g, c)],
});

/** For ops whose gradient is zero wherever it exists (floor, ceil, round, sign), as PyTorch gives it. */
const zero = <N extends OpName>(): VjpRule<N> => ({ vjp: (_g, c) => [zerosLike(metaIn(c, 0))] });

/** Binary ops where each input's gradient reads the other input (mul, matmul). */
const crossed = (needs: readonly boolean[]): Saves => [...(needs[1] ? [0] : []), ...(needs[0] ? [1] : [])];

/** A reduction's output gradient with the reduced dims back as size 1 (broadcasting over them). */
function kept(g: Tensor, c: VjpContext<'sum' | 'prod' | 'max' | 'min' | 'logsumexp'>): Tensor {
  const shape = metaIn(c, 0).shape;
  return g.reshape(reducedShape(shape, reduceDims(c.op, shape, c.attrs.dim), true));
}

/** The gradient of a reshape-like op: back to the input's shape. */
const reshapeBack = <N extends OpName>(): VjpRule<N> => ({ vjp: (g, c) => [g.reshape(metaIn(c, 0).shape)] });

/** The gradient passes unchanged (the engine sums a broadcast one to the input's shape). */
const identity = <N extends OpName>(): VjpRule<N> => ({ vjp: (g) => [g] });

/** `t` through the view steps of an in-place op (what the written view read of the base). */
export function replayView(t: Tensor, steps: readonly ViewStep[]): Tensor {
  return steps.reduce((x, s) => dispatch(s.op, [x], s.attrs as never), t);
}

/** `g` with the region a view covers set to 0 (that part of the base was overwritten). */
function zeroRegion(g: Tensor, steps: readonly ViewStep[], op: string): Tensor {
  const out = g.clone();
  const region = replayView(out, steps);
  if (region.storage !== out.storage) {
    throw new KilnError(`in-place writes through this view are not supported by backward yet (${steps.map((s) => s.op).join(', ')})`, {
      op,
    });
  }
  region.fill_(0);
  return out;
}

/** maximum (sign 1) / minimum (sign -1): the gradient goes to the winner; ties share it equally, as in PyTorch. */
const extremum = <N extends 'maximum' | 'minimum'>(sign: 1 | -1): VjpRule<N> => ({
  save: [0, 1],
  vjp: (g, c) => {
    const [a, b] = [c.input(0), c.input(1)];
    const tie = dispatch('eq', [a, b], {});
    const shared = where(tie, g.mul(0.5), g);
    const aWins = dispatch(sign > 0 ? 'gt' : 'lt', [a, b], {});
    return [c.needs[0] ? where(aWins.logicalOr(tie), shared, 0) : null, c.needs[1] ? where(aWins, 0, shared) : null];
  },
});

/** max / min over dims: the gradient goes to the extreme positions, shared equally by ties (PyTorch's amax / amin). */
const extremeReduce = <N extends 'max' | 'min'>(): VjpRule<N> => ({
  save: [0, 'output'],
  vjp: (g, c) => {
    const dims = reduceDims(c.op, metaIn(c, 0).shape, c.attrs.dim);
    const at = tensorIn(c, 0).eq(kept(c.result(), c));
    return [where(at, kept(g, c).div(at.sum(dims, true)), 0)];
  },
});

/** The gradient of a slice: zeros around it (and between its elements when step > 1), built with cat. */
function unslice(g: Tensor, c: VjpContext<'slice'>): Tensor {
  const shape = metaIn(c, 0).shape;
  const d = normalizeDim('slice', c.attrs.dim, shape.length);
  const [start] = sliceBounds(shape[d]!, c.attrs.start, c.attrs.end);
  const zeros = (size: number, at = d, like: readonly number[] = g.shape) =>
    full(
      like.map((s, k) => (k === at ? size : s)),
      0,
      { device: g.device },
    );
  const n = g.shape[d]!;
  if (n === 0) return zerosLike(metaIn(c, 0));
  let body = g;
  const step = c.attrs.step;
  if (step > 1) {
    // [.., n, ..] -> [.., n, step, ..] with g first in each group -> [.., n * step, ..], cut after the last element.
    const spread = g.unsqueeze(d + 1);
    body = dispatch('cat', [spread, zeros(step - 1, d + 1, spread.shape)], { dim: d + 1 })
      .flatten(d, d + 1)
      .slice(d, 0, Math.min(n * step, shape[d]! - start));
  }
  const after = shape[d]! - start - body.shape[d]!;
  const pieces = [...(start > 0 ? [zeros(start)] : []), body, ...(after > 0 ? [zeros(after)] : [])];
  return pieces.length === 1 ? body : dispatch('cat', pieces, { dim: d });
}

/** Sums `g` over the dims where it was broadcast, to `shape` (the engine's and matmul's reduction of broadcast gradients). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  if (lead < 0) return g;
  const dims = [...Array(lead).keys(), ...shape.flatMap((s, i) => (s === 1 && g.shape[lead + i] !== 1 ? [lead + i] : []))];
  return dims.length === 0 ? g : g.sum(dims, true).reshape(shape);
}

/** a @ b with PyTorch's 1-D rules: 1-D operands become [1, k] / [k, 1], the gradient gets those dims back. */
const matmulRule: VjpRule<'matmul'> = {
  save: crossed,
  vjp: (g, c) => {
    const [am, bm] = [metaIn(c, 0), metaIn(c, 1)];
    const [a1, b1] = [am.shape.length === 1, bm.shape.length === 1];
    const G = a1 && b1 ? g.reshape([1, 1]) : a1 ? g.unsqueeze(-2) : b1 ? g.unsqueeze(-1) : g;
    const ga = () => {
      const b = tensorIn(c, 1);
      const B = b1 ? b.unsqueeze(-1) : b;
      return sumTo(G.matmul(B.transpose(-1, -2)), a1 ? [1, am.shape[0]!] : am.shape).reshape(am.shape);
    };
    const gb = () => {
      const a = tensorIn(c, 0);
      const A = a1 ? a.unsqueeze(0) : a;
      return sumTo(A.transpose(-1, -2).matmul(G), b1 ? [bm.shape[0]!, 1] : bm.shape).reshape(bm.shape);
    };
    return [c.needs[0] ? ga() : null, c.needs[1] ? gb() : null];
  },
};

/**
 * linear: y = x Wᵀ + b. W's gradient is gᵀ x over the flattened rows, so it
 * comes out in W's own [out, in] layout; through the decomposition it would
 * be (xᵀ g)ᵀ, a transposed view, which an optimizer step then reads with a
 * stride of `in` floats. The bias's gradient is g, which the engine sums to b's shape.
 */
const linearRule: VjpRule<'linear'> = {
  save: (needs) => [...(needs[0] ? [1] : []), ...(needs[1] ? [0] : [])],
  vjp: (g, c) => {
    const w = metaIn(c, 1);
    const [out, inner] = w.shape as [number, number];
    // An empty W's gradient is empty (and reshape's -1 would be ambiguous next to its 0).
    const gw = () =>
      out * inner === 0
        ? zerosLike(w)
        : g
            .reshape([-1, out])
            .transpose(0, 1)
            .matmul(tensorIn(c, 0).reshape([-1, inner]));
    return [c.needs[0] ? g.matmul(tensorIn(c, 1)) : null, c.needs[1] ? gw() : null, c.needs[2] ? g : null];
  },
};

/**
 * gather's gradient without a scatter op: a one-hot comparison of the index
 * with arange(size of dim) and a sum over the gathered positions; then zeros
 * where the index is shorter than the input outside `dim`. Costs
 * numel(index) * size(dim) elements of memory and work.
 */
const gatherRule: VjpRule<'gather'> = {
  save: [1],
  vjp: (g, c) => {
    const shape = metaIn(c, 0).shape;
    const index = tensorIn(c, 1);
    const d = normalizeDim('gather', c.attrs.dim, shape.length);
    const positions = arange(shape[d]!, { device: g.device }).reshape(
      Array.from({ length: shape.length + 1 }, (_, k) => (k === d + 1 ? shape[d]! : 1)),
    );
    let gx = where(index.unsqueeze(d + 1).eq(positions), g.unsqueeze(d + 1), 0).sum([d]);
    shape.forEach((size, k) => {
      if (k === d || gx.shape[k] === size) return;
      const rest = gx.shape.map((s, j) => (j === k ? size - s : s));
      gx = dispatch('cat', [gx, full(rest, 0, { device: g.device })], { dim: k });
    });
    return [gx, null];
  },
};

/**
 * indexSelect's (and so embedding's) gradient: a one-hot matrix [size, n]
 * of arange(size) == index, times the gradient with `dim` moved first and
 * flattened to [n, rest]. Costs size * n elements and one matmul.
 */
const indexSelectRule: VjpRule<'indexSelect'> = {
  save: [1],
  vjp: (g, c) => {
    const shape = metaIn(c, 0).shape;
    const index = tensorIn(c, 1);
    const d = normalizeDim('indexSelect', c.attrs.dim, shape.length);
    const order = [d, ...shape.keys()].filter((k, i) => i === 0 || k !== d);
    const rest = order.slice(1).map((k) => shape[k]!);
    const n = index.numel;
    const onehot = arange(shape[d]!, { device: g.device })
      .unsqueeze(1)
      .eq(index.reshape([1, n]))
      .cast('float32');
    const gx = onehot.matmul(g.permute(order).reshape([n, numelOf(rest)])).reshape([shape[d]!, ...rest]);
    const inverse = order.map((_, k) => order.indexOf(k));
    return [gx.permute(inverse), null];
  },
};

/** layerNorm: x̂ = (x - mean) * rstd over the normalized dims; dx = rstd * (dŷ - mean(dŷ) - x̂ mean(dŷ x̂)), dŷ = g w. */
const layerNormRule: VjpRule<'layerNorm'> = {
  save: (_needs, a) => (a.hasWeight ? [0, 1] : [0]),
  vjp: (g, c) => {
    const a = c.attrs;
    const dims = Array.from({ length: a.normalizedShape.length }, (_, i) => i - a.normalizedShape.length);
    const x = float(tensorIn(c, 0));
    const centered = x.sub(x.mean(dims, true));
    const rstd = centered.square().mean(dims, true).add(a.eps).rsqrt();
    const xhat = centered.mul(rstd);
    const gy = a.hasWeight ? g.mul(tensorIn(c, 1)) : g;
    const gx = c.needs[0]
      ? gy
          .sub(gy.mean(dims, true))
          .sub(xhat.mul(gy.mul(xhat).mean(dims, true)))
          .mul(rstd)
      : null;
    const gw = a.hasWeight && c.needs[1] ? g.mul(xhat) : null;
    return [gx, ...(a.hasWeight ? [gw] : []), ...(a.hasBias ? [g] : [])];
  },
};

/**
 * Attention, recomputing its weights p (one matmul and a softmax) rather
 * than keeping them ([..., L, S] per call): dv = pᵀ g, dp = g vᵀ,
 * ds = p (dp - rowsum(dp p)), dq = ds k * scale, dk = dsᵀ q * scale, and a
 * float mask gets ds.
 */
const attentionRule: VjpRule<'scaledDotProductAttention'> = {
  save: [0, 1, 2, 3],
  vjp: (g, c) => {
    const [q, k, v] = [float(tensorIn(c, 0)), float(tensorIn(c, 1)), float(tensorIn(c, 2))];
    const mask = c.inputs.length > 3 ? tensorIn(c, 3) : null;
    const p = attentionWeights(q, k, mask, c.attrs);
    const dp = g.matmul(v.transpose(-2, -1));
    const ds = p.mul(dp.sub(dp.mul(p).sum(-1, true)));
    const scale = c.attrs.scale ?? 1 / Math.sqrt(q.shape.at(-1)!);
    return [
      c.needs[0] ? ds.matmul(k).mul(scale) : null,
      c.needs[1] ? ds.transpose(-2, -1).matmul(q).mul(scale) : null,
      c.needs[2] ? p.transpose(-2, -1).matmul(g) : null,
      ...(mask ? [c.needs[3] ? ds : null] : []),
    ];
  },
};

/** crossEntropy: (softmax(logits) - onehot(targets)) times g, per row or / N for the mean. */
const crossEntropyRule: VjpRule<'crossEntropy'> = {
  save: [0, 1],
  vjp: (g, c) => {
    const logits = float(tensorIn(c, 0));
    const targets = tensorIn(c, 1);
    const [n, classes] = logits.shape as [number, number];
    const hot = arange(classes, { device: g.device }).unsqueeze(0).eq(targets.unsqueeze(1));
    const p = logits.softmax(1);
    const d = where(hot, p.sub(1), p);
    const r = c.attrs.reduction;
    return [r === 'none' ? d.mul(g.unsqueeze(1)) : d.mul(r === 'mean' ? g.div(n) : g), null];
  },
};

/** Whether the strided view `shape`/`strides` reaches some element twice (then a scatter would not add up). */
function overlaps(shape: readonly number[], strides: readonly number[]): boolean {
  const dims = shape.map((size, d) => ({ size, stride: strides[d]! })).filter((d) => d.size > 1);
  if (dims.some((d) => d.stride === 0)) return true;
  let reach = 0; // the largest offset the smaller-stride dims reach
  for (const d of dims.sort((a, b) => a.stride - b.stride)) {
    if (d.stride <= reach) return true;
    reach += (d.size - 1) * d.stride;
  }
  return false;
}

/**
 * asStrided's gradient: each element of the 1-D input gets the sum of the
 * gradients of the view elements that read it. A view that reads every
 * element at most once scatters the gradient into zeros (scatterView); one
 * that overlaps adds through a one-hot matrix [numel(view), n] (its cost).
 */
const asStridedRule: VjpRule<'asStrided'> = {
  vjp: (g, c) => {
    const { shape, strides, offset } = c.attrs;
    const n = metaIn(c, 0).shape[0]!;
    const device = g.device;
    if (!overlaps(shape, strides)) return [dispatch('scatterView', [full([n], 0, { device }), g], c.attrs)];
    const positions = shape.reduce(
      (p: Tensor, size, d) =>
        p.add(
          arange(size, { device })
            .mul(strides[d]!)
            .reshape(shape.map((_, k) => (k === d ? size : 1))),
        ),
      full([], offset, { dtype: 'int32', device }),
    );
    const onehot = positions
      .reshape([-1, 1])
      .eq(arange(n, { device }).reshape([1, n]))
      .cast('float32');
    return [g.reshape([1, -1]).matmul(onehot).reshape([n])];
  },
};

/** scatterView: the base's gradient with the written view zeroed, and the source's read through the view. */
const scatterViewRule: VjpRule<'scatterView'> = {
  vjp: (g, c) => [
    c.needs[0] ? dispatch('scatterView', [g, full(c.attrs.shape, 0, { device: g.device })], c.attrs) : null,
    c.needs[1] ? dispatch('asStrided', [g.contiguous()], c.attrs) : null,
  ],
};

/** `to`: back to the input's device (webgpu to cpu needs a synchronous read, which webgpu cannot do). */
const toRule: VjpRule<'to'> = {
  vjp: (g, c) => {
    const device = metaIn(c, 0).device;
    if (device === g.device) return [g];
    if (g.device === 'webgpu') {
      throw new KilnError(
        'backward through to(webgpu) of a cpu tensor is not supported yet: its gradient would have to be read back synchronously; create the tensor on webgpu instead',
        { op: 'backward' },
      );
    }
    return [g.to(device)];
  },
};

// -------------------------------------------------------------------- table

export const VJP: { [N in OpName]: VjpEntry<N> } = {
  // unary
  neg: unary([], (g) => g.neg()),
  abs: unary([0], (g, c) => g.mul(tensorIn(c, 0).sign())),
  exp: unary(['output'], (g, c) => g.mul(c.result())),
  log: unary([0], (g, c) => g.div(tensorIn(c, 0))),
  sqrt: unary(['output'], (g, c) => g.div(c.result().mul(2))),
  rsqrt: unary(['output'], (g, c) => g.mul(c.result().pow(3)).mul(-0.5)),
  sin: unary([0], (g, c) => g.mul(tensorIn(c, 0).cos())),
  cos: unary([0], (g, c) => g.mul(tensorIn(c, 0).sin()).neg()),
  tanh: unary(['output'], (g, c) => g.mul(c.result().square().neg().add(1))),
  sigmoid: unary(['output'], (g, c) => g.mul(c.result()).mul(c.result().neg().add(1))),
  relu: unary(['output'], (g, c) => where(c.result().gt(0), g, 0)),
  erf: unary([0], (g, c) =>
    g.mul(
      tensorIn(c, 0)
        .square()
        .neg()
        .exp()
        .mul(2 / Math.sqrt(Math.PI)),
    ),
  ),
  square: unary([0], (g, c) => g.mul(tensorIn(c, 0)).mul(2)),
  reciprocal: unary(['output'], (g, c) => g.mul(c.result().square()).neg()),
  floor: zero(),
  ceil: zero(),
  round: zero(),
  sign: zero(),
  logicalNot: NOT_DIFFERENTIABLE,

  // binary
  add: { vjp: (g) => [g, g] },
  sub: { vjp: (g, c) => [g, c.needs[1] ? g.neg() : null] },
  mul: { save: crossed, vjp: (g, c) => [c.needs[0] ? g.mul(c.input(1)) : null, c.needs[1] ? g.mul(c.input(0)) : null] },
  div: {
    save: (needs) => (needs[1] ? [0, 1] : [1]),
    vjp: (g, c) => {
      const b = c.input(1);
      return [
        c.needs[0] ? g.div(b) : null,
        c.needs[1]
          ? g
              .mul(c.input(0))
              .div((b as Tensor).square())
              .neg()
          : null,
      ];
    },
  },
  // d/da = b a^(b-1) (0 where b == 0); d/db = a^b log a (0 where a == 0 and b >= 0), as PyTorch masks them.
  pow: {
    save: (needs) => (needs[1] ? [0, 1, 'output'] : [0, 1]),
    vjp: (g, c) => {
      const [a, b] = [c.input(0), c.input(1)];
      const ga = () => {
        if (typeof b !== 'object') return b === 0 ? zerosLike(c.output) : g.mul(dispatch('pow', [a, Number(b) - 1], {})).mul(b);
        return where(b.eq(0), 0, g.mul(b).mul(dispatch('pow', [a, b.sub(1)], {})));
      };
      const gb = () => {
        const db = g.mul(c.result()).mul(typeof a === 'object' ? a.log() : Math.log(Number(a)));
        const zeroBase = typeof a === 'object' ? a.eq(0).logicalAnd((b as Tensor).ge(0)) : Number(a) === 0 ? (b as Tensor).ge(0) : null;
        return zeroBase ? where(zeroBase, 0, db) : db;
      };
      return [c.needs[0] ? ga() : null, c.needs[1] ? gb() : null];
    },
  },
  maximum: extremum(1),
  minimum: extremum(-1),
  eq: NOT_DIFFERENTIABLE,
  ne: NOT_DIFFERENTIABLE,
  lt: NOT_DIFFERENTIABLE,
  le: NOT_DIFFERENTIABLE,
  gt: NOT_DIFFERENTIABLE,
  ge: NOT_DIFFERENTIABLE,
  logicalAnd: NOT_DIFFERENTIABLE,
  logicalOr: NOT_DIFFERENTIABLE,
  where: {
    save: [0],
    vjp: (g, c) => {
      const cond = c.input(0);
      return [null, c.needs[1] ? where(cond, g, 0) : null, c.needs[2] ? where(cond, 0, g) : null];
    },
  },
  // Only float -> float casts carry a gradient (an int or bool result never requires grad).
  cast: identity(),

  // reductions
  sum: { vjp: (g, c) => [kept(g, c).expand(metaIn(c, 0).shape)] },
  // The product of the others: out / x where x != 0; where x == 0, the product of the nonzeros if x is the only zero, else 0.
  prod: {
    save: [0, 'output'],
    vjp: (g, c) => {
      const x = tensorIn(c, 0);
      const dims = reduceDims('prod', x.shape, c.attrs.dim);
      const isZero = x.eq(0);
      const zeros = isZero.sum(dims, true);
      const others = where(isZero, where(zeros.eq(1), where(isZero, 1, x).prod(dims, true), 0), kept(c.result(), c).div(x));
      return [kept(g, c).mul(others)];
    },
  },
  max: extremeReduce(),
  min: extremeReduce(),
  argmax: NOT_DIFFERENTIABLE,
  argmin: NOT_DIFFERENTIABLE,
  any: NOT_DIFFERENTIABLE,
  all: NOT_DIFFERENTIABLE,

  // movement
  reshape: reshapeBack(),
  view: reshapeBack(),
  permute: {
    vjp: (g, c) => {
      const rank = c.attrs.dims.length;
      const dims = c.attrs.dims.map((d) => (d < 0 ? d + rank : d));
      return [g.permute(dims.map((_, k) => dims.indexOf(k)))];
    },
  },
  transpose: { vjp: (g, c) => [g.transpose(c.attrs.dim0, c.attrs.dim1)] },
  unsqueeze: reshapeBack(),
  squeeze: reshapeBack(),
  expand: identity(),
  flatten: reshapeBack(),
  slice: { vjp: (g, c) => [unslice(g, c)] },
  contiguous: identity(),
  asStrided: asStridedRule,

  // composites
  mean: 'decomposition',
  var: 'decomposition',
  std: 'decomposition',
  logsumexp: { save: [0, 'output'], vjp: (g, c) => [kept(g, c).mul(float(tensorIn(c, 0)).sub(kept(c.result(), c)).exp())] },
  // PyTorch's clamp: the whole gradient inside [min, max], bounds included (maximum/minimum would halve it there).
  clamp: {
    save: [0],
    vjp: (g, c) => {
      const x = tensorIn(c, 0);
      const { min, max } = c.attrs;
      const inside = min === null ? x.le(max!) : max === null ? x.ge(min) : x.ge(min).logicalAnd(x.le(max));
      return [where(inside, g, 0)];
    },
  },
  gelu: unary([0], (g, c) => {
    const x = tensorIn(c, 0);
    if (c.attrs.approximate === 'tanh') {
      const k = Math.sqrt(2 / Math.PI);
      const t = x.add(x.pow(3).mul(0.044715)).mul(k).tanh();
      const dInner = x
        .square()
        .mul(3 * 0.044715)
        .add(1)
        .mul(k);
      return g.mul(
        t
          .add(1)
          .mul(0.5)
          .add(x.mul(0.5).mul(t.square().neg().add(1)).mul(dInner)),
      );
    }
    const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
    const pdf = x
      .square()
      .mul(-0.5)
      .exp()
      .mul(1 / Math.sqrt(2 * Math.PI));
    return g.mul(cdf.add(x.mul(pdf)));
  }),
  silu: unary([0], (g, c) => {
    const s = tensorIn(c, 0).sigmoid();
    return g.mul(s.mul(tensorIn(c, 0).mul(s.neg().add(1)).add(1)));
  }),
  softmax: unary(['output'], (g, c) => {
    const y = c.result();
    return y.mul(g.sub(g.mul(y).sum(c.attrs.dim, true)));
  }),
  logSoftmax: unary(['output'], (g, c) => g.sub(c.result().exp().mul(g.sum(c.attrs.dim, true)))),
  layerNorm: layerNormRule,
  rmsNorm: 'decomposition',
  linear: linearRule,
  embedding: 'decomposition',
  dropout: 'decomposition',
  scaledDotProductAttention: attentionRule,
  crossEntropy: crossEntropyRule,
  stack: 'decomposition',
  indexSelect: indexSelectRule,
  clone: 'decomposition',
  tril: 'decomposition',
  triu: 'decomposition',
  maskedFill: 'decomposition',

  // the rest
  matmul: matmulRule,
  cat: {
    vjp: (g, c) => {
      const d = normalizeDim('cat', c.attrs.dim, g.ndim);
      let start = 0;
      return c.inputs.map((m, i) => {
        const size = (m as TensorMeta).shape[d]!;
        start += size;
        return c.needs[i] ? g.slice(d, start - size, start) : null;
      });
    },
  },
  gather: gatherRule,
  full: NOT_DIFFERENTIABLE,
  arange: NOT_DIFFERENTIABLE,
  rand: NOT_DIFFERENTIABLE,
  randn: NOT_DIFFERENTIABLE,
  // In place: the destination's old value is overwritten (its gradient is 0, or 0 on the region a view covers).
  copy_: {
    vjp: (g, c) => [
      c.needs[0] ? (c.view ? zeroRegion(g, c.view, 'copy_') : zerosLike(c.output)) : null,
      c.needs[1] ? (c.view ? replayView(g, c.view) : g) : null,
    ],
  },
  fill_: { vjp: (g, c) => [c.view ? zeroRegion(g, c.view, 'fill_') : zerosLike(c.output)] },
  // A write as a value (functionalization's form of copy_); the views it writes do not overlap, as eager refuses such writes.
  scatterView: scatterViewRule,
  to: toRule,
};
