/**
 * Composite ops, each written once as a composition of other ops. Eager runs
 * them through the dispatcher (so every step is an ordinary op on the same
 * device); the compiler runs the same functions under its own mode to lower
 * composites to primitives. Inputs have been checked by the op's inference
 * (./table) before a decomposition runs.
 */
import { arange, full } from '../creation';
import type { Input } from '../dispatch';
import { dispatch } from '../dispatch';
import type { Tensor } from '../tensor';
import { normalizeDim, numelOf } from '../view';
import type { CompositeAttrs, CompositeOp } from './table';
import { reduceDims } from './table';

export type Decomposition<N extends CompositeOp> = (inputs: readonly Input[], attrs: CompositeAttrs[N]) => Tensor;

const T = (inputs: readonly Input[], i: number) => inputs[i] as Tensor;

/** Composites compute in float (PyTorch refuses most of them on ints; here ints are promoted). */
const float = (x: Tensor) => (x.dtype === 'float32' ? x : x.cast('float32'));

/** The number of elements a reduction over `dim` combines. */
const count = (x: Tensor, dim: readonly number[] | null) => numelOf(reduceDims('reduce', x.shape, dim).map((d) => x.shape[d]!));

/** The last `n` dims, as negative dims (what layerNorm and rmsNorm normalize over). */
const lastDims = (n: number) => Array.from({ length: n }, (_, i) => i - n);

/** m + log(sum(exp(x - m))) with m = max over dim, kept finite so rows of -inf give -inf, not NaN. */
function logsumexp(x: Tensor, dim: readonly number[] | null, keepdim: boolean): Tensor {
  const dims = reduceDims('logsumexp', x.shape, dim);
  const m = x.max(dims, true);
  const shift = dispatch('where', [m.abs().eq(Infinity), 0, m], {});
  const out = x.sub(shift).exp().sum(dims, true).log().add(shift);
  return keepdim ? out : out.squeeze(dims);
}

function variance(x: Tensor, dim: readonly number[] | null, keepdim: boolean, correction: number): Tensor {
  const dims = reduceDims('var', x.shape, dim);
  const d = x.sub(x.mean(dims, true));
  return d
    .square()
    .sum(dims, keepdim)
    .div(Math.max(count(x, dims) - correction, 0));
}

/** Where element (..., i, j) of a [..., rows, cols] tensor is kept: j - i <= diagonal (lower) or >= diagonal (upper). */
function triangleMask(x: Tensor, diagonal: number, lower: boolean): Tensor {
  const [rows, cols] = [x.shape.at(-2)!, x.shape.at(-1)!];
  const device = x.device;
  const offset = arange(cols, { device }).unsqueeze(0).sub(arange(rows, { device }).unsqueeze(1));
  return lower ? offset.le(diagonal) : offset.ge(diagonal);
}

/**
 * Attention's weights softmax(q k^T * scale + mask) [..., L, S], masked
 * causally or by `mask` (bool: true takes part; float: added). Also what
 * attention's backward rule recomputes (../autograd/rules).
 */
export function attentionWeights(q: Tensor, k: Tensor, mask: Tensor | null, a: CompositeAttrs['scaledDotProductAttention']): Tensor {
  const [L, S] = [q.shape.at(-2)!, k.shape.at(-2)!];
  let scores = q.matmul(k.transpose(-2, -1)).mul(a.scale ?? 1 / Math.sqrt(q.shape.at(-1)!));
  if (a.isCausal) {
    // Position i attends to positions j <= i (top-left aligned, like PyTorch's is_causal).
    const device = q.device;
    const keep = arange(S, { device }).unsqueeze(0).le(arange(L, { device }).unsqueeze(1));
    scores = dispatch('where', [keep, scores, -Infinity], {});
  }
  if (mask) scores = mask.dtype === 'bool' ? dispatch('where', [mask, scores, -Infinity], {}) : scores.add(mask);
  return scores.softmax(-1);
}

type IdentityRule<N extends CompositeOp> = (inputs: readonly Input[], attrs: CompositeAttrs[N]) => boolean;

/** softmax and logSoftmax over an empty float tensor: nothing to normalize, the input is the result. */
const emptyFloat = (inputs: readonly Input[]) => T(inputs, 0).numel === 0 && T(inputs, 0).dtype === 'float32';

/**
 * Composites whose result, for these attributes and inputs, is their first
 * input itself (eager returns the same tensor). The decompositions return
 * early by these rules, and under a mode `dispatch` returns the input
 * without calling the mode, so a tracer's result aliases it as eager's
 * does (same storage, same version counter).
 */
export const RETURNS_INPUT: { [N in CompositeOp]?: IdentityRule<N> } = {
  dropout: (_inputs, a) => !a.training || a.p === 0,
  softmax: emptyFloat,
  logSoftmax: emptyFloat,
};

export const DECOMPOSITIONS: { [N in CompositeOp]: Decomposition<N> } = {
  mean: (ins, a) =>
    T(ins, 0)
      .sum(a.dim, a.keepdim)
      .div(count(T(ins, 0), a.dim)),
  var: (ins, a) => variance(T(ins, 0), a.dim, a.keepdim, a.correction),
  std: (ins, a) => variance(T(ins, 0), a.dim, a.keepdim, a.correction).sqrt(),
  logsumexp: (ins, a) => logsumexp(T(ins, 0), a.dim, a.keepdim),
  clamp: (ins, a) => {
    let x = T(ins, 0);
    if (a.min !== null) x = x.maximum(a.min);
    if (a.max !== null) x = x.minimum(a.max);
    return x;
  },
  gelu: (ins, a) => {
    const x = float(T(ins, 0));
    const inner =
      a.approximate === 'tanh'
        ? x
            .add(x.mul(x).mul(x).mul(0.044715))
            .mul(Math.sqrt(2 / Math.PI))
            .tanh()
        : x.mul(Math.SQRT1_2).erf();
    return x.mul(0.5).mul(inner.add(1));
  },
  silu: (ins) => {
    const x = float(T(ins, 0));
    return x.mul(x.sigmoid());
  },
  softmax: (ins, a) => {
    const x = float(T(ins, 0));
    if (x.numel === 0) return x; // empty: nothing to normalize (and max has no identity); RETURNS_INPUT when float
    const e = x.sub(x.max(a.dim, true)).exp();
    return e.div(e.sum(a.dim, true));
  },
  logSoftmax: (ins, a) => {
    const x = float(T(ins, 0));
    if (x.numel === 0) return x;
    const shifted = x.sub(x.max(a.dim, true));
    return shifted.sub(shifted.exp().sum(a.dim, true).log());
  },
  layerNorm: (ins, a) => {
    const x = float(T(ins, 0));
    const dims = lastDims(a.normalizedShape.length);
    const d = x.sub(x.mean(dims, true));
    let y = d.mul(d.square().mean(dims, true).add(a.eps).rsqrt());
    if (a.hasWeight) y = y.mul(T(ins, 1));
    if (a.hasBias) y = y.add(T(ins, a.hasWeight ? 2 : 1));
    return y;
  },
  rmsNorm: (ins, a) => {
    const x = float(T(ins, 0));
    const dims = lastDims(a.normalizedShape.length);
    const y = x.mul(
      x
        .square()
        .mean(dims, true)
        .add(a.eps ?? 2 ** -23)
        .rsqrt(),
    );
    return ins.length > 1 ? y.mul(T(ins, 1)) : y;
  },
  linear: (ins) => {
    const y = T(ins, 0).matmul(T(ins, 1).transpose(0, 1));
    return ins.length > 2 ? y.add(T(ins, 2)) : y;
  },
  embedding: (ins) => {
    const [idx, weight] = [T(ins, 0), T(ins, 1)];
    return weight.indexSelect(0, idx.reshape([-1])).reshape([...idx.shape, weight.shape[1]!]);
  },
  dropout: (ins, a) => {
    const x = T(ins, 0);
    if (RETURNS_INPUT.dropout!(ins, a)) return x;
    // dispatch, not rand(): the compiler traces with marker sizes that rand's user-facing size limit would refuse.
    const keep = dispatch('rand', [], { shape: x.shape, device: x.device }).ge(a.p);
    return dispatch('where', [keep, x.mul(a.p === 1 ? 0 : 1 / (1 - a.p)), 0], {});
  },
  scaledDotProductAttention: (ins, a) =>
    attentionWeights(T(ins, 0), T(ins, 1), ins.length > 3 ? T(ins, 3) : null, a).matmul(float(T(ins, 2))),
  crossEntropy: (ins, a) => {
    const [logits, targets] = [T(ins, 0), T(ins, 1)];
    const picked = logits.gather(1, targets.unsqueeze(1)).squeeze(1);
    const loss = logsumexp(logits, [1], false).sub(picked);
    return a.reduction === 'none' ? loss : a.reduction === 'sum' ? loss.sum() : loss.mean();
  },
  stack: (ins, a) =>
    dispatch(
      'cat',
      ins.map((x) => (x as Tensor).unsqueeze(a.dim)),
      { dim: a.dim },
    ),
  clone: (ins) => T(ins, 0).cast(T(ins, 0).dtype),
  tril: (ins, a) => dispatch('where', [triangleMask(T(ins, 0), a.diagonal, true), T(ins, 0), 0], {}).cast(T(ins, 0).dtype),
  triu: (ins, a) => dispatch('where', [triangleMask(T(ins, 0), a.diagonal, false), T(ins, 0), 0], {}).cast(T(ins, 0).dtype),
  // The value takes x's dtype, as PyTorch's masked_fill converts it.
  maskedFill: (ins, a) =>
    dispatch('where', [T(ins, 1), full([], a.value, { dtype: T(ins, 0).dtype, device: T(ins, 0).device }), T(ins, 0)], {}),
  indexSelect: (ins, a) => {
    const [x, idx] = [T(ins, 0), T(ins, 1)];
    const d = normalizeDim('indexSelect', a.dim, x.ndim);
    const shape = x.shape.map((s, i) => (i === d ? idx.numel : s));
    // gather with the index laid along `d` and broadcast over the other dims.
    return x.gather(d, idx.reshape(shape.map((s, i) => (i === d ? s : 1))).expand(shape));
  },
};
