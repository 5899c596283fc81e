/**
 * The op table: every op kiln knows, its attributes, its kind and how its
 * output shape, dtype and device follow from its inputs (checking them on
 * the way, with errors naming the op and the shapes). `OpName` is the union
 * of the keys of `AttrsOf`; tables keyed by it (`Record<OpName, ...>`) make
 * TypeScript list what is missing when an op is added.
 *
 * Kinds: elementwise, reduce and movement ops are templates / view rules
 * (./elementwise, ./reductions, ./movement); composite ops are
 * decompositions into other ops (./decompositions), reused by the compiler;
 * the rest are one kernel family each (see ../backend).
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { Device } from '../backend';
import type { DType, Scalar } from '../dtype';
import { resultType, scalarDtype } from '../dtype';
import { asStrided, broadcastShapes, contiguousView, expand, normalizeDim, normalizeDims, numelOf, shapeStr } from '../view';
import { checkAttrs } from './attr-checks';
import type { ElementwiseOp } from './elementwise';
import { ELEMENTWISE, elementwiseTypes } from './elementwise';
import type { MovementAttrs, MovementOp } from './movement';
import { MOVEMENT, movementShape } from './movement';
import type { ReduceOp } from './reductions';
import { REDUCTIONS } from './reductions';

export type NoAttrs = Record<string, never>;

/** Reduction attributes: `dim` null reduces every dim; negative dims count from the end. */
export interface ReduceAttrs {
  dim: readonly number[] | null;
  keepdim: boolean;
}

export interface VarAttrs extends ReduceAttrs {
  /** Subtracted from the element count in the divisor: 1 is the unbiased estimate (PyTorch's default). */
  correction: number;
}

export interface CompositeAttrs {
  mean: ReduceAttrs;
  var: VarAttrs;
  std: VarAttrs;
  logsumexp: ReduceAttrs;
  clamp: { min: number | null; max: number | null };
  gelu: { approximate: 'none' | 'tanh' };
  silu: NoAttrs;
  softmax: { dim: number };
  logSoftmax: { dim: number };
  /** inputs: x, then weight if hasWeight, then bias if hasBias. */
  layerNorm: { normalizedShape: readonly number[]; eps: number; hasWeight: boolean; hasBias: boolean };
  /** inputs: x, weight?; eps null is float32's machine epsilon, like PyTorch. */
  rmsNorm: { normalizedShape: readonly number[]; eps: number | null };
  /** inputs: x [..., in], weight [out, in], bias? [out]. */
  linear: NoAttrs;
  /** inputs: indices (int32, any shape), weight [num, dim]. */
  embedding: NoAttrs;
  dropout: { p: number; training: boolean };
  /** inputs: q, k, v, attnMask? (bool: true takes part; float: added to the scores). */
  scaledDotProductAttention: { isCausal: boolean; scale: number | null };
  /** inputs: logits [N, C], targets int32 [N]. */
  crossEntropy: { reduction: 'mean' | 'sum' | 'none' };
  stack: { dim: number };
  indexSelect: { dim: number };
  /** A copy with its own memory (a new contiguous tensor). */
  clone: NoAttrs;
  /** The lower (tril) or upper (triu) triangle of the last two dims, from `diagonal` on; the rest is 0. */
  tril: { diagonal: number };
  triu: { diagonal: number };
  /** inputs: x, mask (bool, broadcast to x): `value` where mask, else x (in x's dtype). */
  maskedFill: { value: Scalar };
}

export type CompositeOp = keyof CompositeAttrs;

/** Attributes of every op (inputs are positional; see each op's comment where they vary). */
export type AttrsOf = Record<Exclude<ElementwiseOp, 'cast'>, NoAttrs> & { cast: { dtype: DType } } & Record<ReduceOp, ReduceAttrs> &
  MovementAttrs &
  CompositeAttrs & {
    matmul: NoAttrs;
    cat: { dim: number };
    gather: { dim: number };
    full: { shape: readonly number[]; value: Scalar; dtype: DType; device: Device };
    arange: { start: number; end: number; step: number; dtype: DType; device: Device };
    rand: { shape: readonly number[]; device: Device };
    randn: { shape: readonly number[]; device: Device };
    /** inputs: destination, source (broadcast to the destination, converted to its dtype). */
    copy_: NoAttrs;
    /** inputs: destination. */
    fill_: { value: Scalar };
    /**
     * inputs: base (1-D: a storage's elements), src (of `shape`). The base
     * with the elements of the view shape/strides/offset replaced by src: the
     * functional form of an in-place write (what the tracer records `copy_` as).
     */
    scatterView: { shape: readonly number[]; strides: readonly number[]; offset: number };
    to: { device: Device };
  };

export type OpName = keyof AttrsOf;

export type OpKind =
  | 'elementwise'
  | 'reduce'
  | 'movement'
  | 'composite'
  | 'matmul'
  | 'cat'
  | 'gather'
  | 'full'
  | 'arange'
  | 'random'
  | 'inplace'
  | 'scatter'
  | 'transfer';

/** What inference needs of a tensor (a Tensor, a graph Node, a tracer's proxy all qualify). */
export interface TensorMeta {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: Device;
}

export type InputMeta = TensorMeta | Scalar;

export interface OpDef<N extends OpName> {
  readonly kind: OpKind;
  /** Checks the inputs and attributes and returns the output's meta; throws KilnError naming the op. */
  infer(inputs: readonly InputMeta[], attrs: AttrsOf[N]): TensorMeta;
}

export function isMeta(x: InputMeta): x is TensorMeta {
  return typeof x === 'object' && x !== null;
}

export function dtypeOf(x: InputMeta): DType {
  return isMeta(x) ? x.dtype : scalarDtype(x);
}

function describe(t: TensorMeta): string {
  return `${t.dtype}${shapeStr(t.shape)}`;
}

function arity(op: string, ins: readonly InputMeta[], min: number, max = min): void {
  if (ins.length < min || ins.length > max) {
    throw new KilnError(`expected ${min === max ? min : `${min} to ${max}`} inputs, got ${ins.length}`, { op });
  }
}

function tensorAt(op: string, ins: readonly InputMeta[], i: number): TensorMeta {
  const x = ins[i];
  if (x === undefined || !isMeta(x))
    throw new KilnError(`input ${i} must be a tensor, got ${x === undefined ? 'nothing' : typeof x}`, { op });
  return x;
}

function expectDtype(op: string, what: string, t: TensorMeta, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new KilnError(`${what} must be ${allowed.join(' or ')}, got ${describe(t)}`, { op });
  }
}

function like(x: TensorMeta, changes: Partial<TensorMeta> = {}): TensorMeta {
  return { shape: x.shape, dtype: x.dtype, device: x.device, ...changes };
}

/** The dims a reduction reduces, normalized and sorted. */
export function reduceDims(op: string, shape: readonly number[], dim: readonly number[] | null): number[] {
  return dim === null ? shape.map((_, d) => d) : normalizeDims(op, dim, shape.length);
}

export function reducedShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((s, d) => (dims.includes(d) ? 1 : s)) : shape.filter((_, d) => !dims.includes(d));
}

function reduceInfer(op: string, ins: readonly InputMeta[], a: ReduceAttrs, dtype: (d: DType) => DType, emptyOk = true): TensorMeta {
  arity(op, ins, 1);
  const x = tensorAt(op, ins, 0);
  const dims = reduceDims(op, x.shape, a.dim);
  const empty = dims.find((d) => x.shape[d] === 0);
  if (!emptyOk && empty !== undefined) {
    throw new KilnError(`cannot reduce over dim ${empty} of size 0 of ${describe(x)}: the op has no identity`, { op });
  }
  return like(x, { shape: reducedShape(x.shape, dims, a.keepdim), dtype: dtype(x.dtype) });
}

const toFloat = (): DType => 'float32';

/** Same shape, float result (activations and normalizations). */
function floatLike(op: string, ins: readonly InputMeta[], min = 1, max = min): TensorMeta {
  arity(op, ins, min, max);
  return like(tensorAt(op, ins, 0), { dtype: 'float32' });
}

function elementwiseDef(op: ElementwiseOp): OpDef<ElementwiseOp> {
  return {
    kind: 'elementwise',
    infer(ins, attrs) {
      arity(op, ins, ELEMENTWISE[op].arity);
      const tensors = ins.filter(isMeta);
      if (tensors.length === 0) throw new KilnError('expected at least one tensor operand', { op });
      const cond = ins[0]!;
      if (op === 'where' && dtypeOf(cond) !== 'bool') {
        throw new KilnError(`condition must be bool, got ${isMeta(cond) ? describe(cond) : typeof cond}`, { op });
      }
      if (op === 'pow') checkIntegerPow(ins[0]!, ins[1]!);
      const types = elementwiseTypes(op, ins.map(dtypeOf), 'dtype' in attrs ? attrs.dtype : undefined);
      return { shape: broadcastShapes(op, ...tensors.map((t) => t.shape)), dtype: types.out, device: tensors[0]!.device };
    },
  };
}

/**
 * PyTorch's rule for a scalar exponent: an integer tensor to a negative
 * integer power is an error (the result would be 0 for most bases, and an
 * integer dtype cannot hold the true value). Tensor exponents follow the
 * elementwise rule instead (0, except for bases 1 and -1), as in PyTorch.
 */
function checkIntegerPow(base: InputMeta, exponent: InputMeta): void {
  if (!isMeta(base) || typeof exponent !== 'number' || !(exponent < 0)) return;
  if (resultType([base.dtype, scalarDtype(exponent)]) === 'float32') return;
  throw new KilnError(
    `integers to negative integer powers are not allowed (base ${describe(base)}, exponent ${exponent}); cast the base to float32 first`,
    { op: 'pow' },
  );
}

function movementDef<N extends MovementOp>(op: N): OpDef<N> {
  return {
    kind: 'movement',
    infer(ins, attrs) {
      arity(op, ins, 1);
      const x = tensorAt(op, ins, 0);
      return like(x, { shape: movementShape(op, x.shape, attrs) });
    },
  };
}

function matmulShape(op: string, a: TensorMeta, b: TensorMeta): number[] {
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new KilnError(`both operands need at least 1 dim, got ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`, { op });
  }
  const k = a.shape.at(-1)!;
  const kb = b.shape.length === 1 ? b.shape[0]! : b.shape.at(-2)!;
  if (k !== kb) {
    throw new KilnError(`inner dimensions do not match: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} (${k} != ${kb})`, { op });
  }
  let batch: number[];
  try {
    batch = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new KilnError(`batch dims do not broadcast: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`, { op });
  }
  return [...batch, ...(a.shape.length > 1 ? [a.shape.at(-2)!] : []), ...(b.shape.length > 1 ? [b.shape.at(-1)!] : [])];
}

function checkSameDtype(op: string, a: TensorMeta, b: TensorMeta): void {
  if (a.dtype !== b.dtype)
    throw new KilnError(`expected both operands to have the same dtype, got ${describe(a)} and ${describe(b)}`, { op });
}

function normalizedShapeCheck(op: string, x: TensorMeta, normalizedShape: readonly number[], params: readonly TensorMeta[]): void {
  const tail = x.shape.slice(x.shape.length - normalizedShape.length);
  if (normalizedShape.length > x.shape.length || shapeStr(tail) !== shapeStr(normalizedShape)) {
    throw new KilnError(`normalizedShape ${shapeStr(normalizedShape)} does not match the trailing dims of ${describe(x)}`, { op });
  }
  for (const p of params) {
    if (shapeStr(p.shape) !== shapeStr(normalizedShape)) {
      throw new KilnError(`weight and bias must have shape ${shapeStr(normalizedShape)}, got ${describe(p)}`, { op });
    }
  }
}

const def = <N extends OpName>(kind: OpKind, infer: OpDef<N>['infer']): OpDef<N> => ({ kind, infer });

function mapKeys<K extends string, V>(table: Record<K, unknown>, f: (k: K) => V): Record<K, V> {
  return Object.fromEntries(Object.keys(table).map((k) => [k, f(k as K)])) as Record<K, V>;
}

const COMPOSITE: { [N in CompositeOp]: OpDef<N> } = {
  mean: def('composite', (ins, a) => reduceInfer('mean', ins, a, toFloat)),
  var: def('composite', (ins, a) => reduceInfer('var', ins, a, toFloat)),
  std: def('composite', (ins, a) => reduceInfer('std', ins, a, toFloat)),
  logsumexp: def('composite', (ins, a) => reduceInfer('logsumexp', ins, a, toFloat, false)),
  clamp: def('composite', (ins, a) => {
    arity('clamp', ins, 1);
    const x = tensorAt('clamp', ins, 0);
    const bounds = [a.min, a.max].filter((b): b is number => b !== null);
    if (bounds.length === 0) throw new KilnError('at least one of min and max must be given', { op: 'clamp' });
    if (x.dtype === 'bool') throw new KilnError(`is not supported on bool tensors, got ${describe(x)}`, { op: 'clamp' });
    return like(x, { dtype: resultType([x.dtype, ...bounds.map(scalarDtype)]) });
  }),
  gelu: def('composite', (ins) => floatLike('gelu', ins)),
  silu: def('composite', (ins) => floatLike('silu', ins)),
  softmax: def('composite', (ins, a) => {
    const out = floatLike('softmax', ins);
    normalizeDim('softmax', a.dim, out.shape.length);
    return out;
  }),
  logSoftmax: def('composite', (ins, a) => {
    const out = floatLike('logSoftmax', ins);
    normalizeDim('logSoftmax', a.dim, out.shape.length);
    return out;
  }),
  layerNorm: def('composite', (ins, a) => {
    const n = 1 + Number(a.hasWeight) + Number(a.hasBias);
    const out = floatLike('layerNorm', ins, n);
    normalizedShapeCheck(
      'layerNorm',
      out,
      a.normalizedShape,
      ins.slice(1).map((_, i) => tensorAt('layerNorm', ins, i + 1)),
    );
    return out;
  }),
  rmsNorm: def('composite', (ins, a) => {
    const out = floatLike('rmsNorm', ins, 1, 2);
    normalizedShapeCheck(
      'rmsNorm',
      out,
      a.normalizedShape,
      ins.slice(1).map((_, i) => tensorAt('rmsNorm', ins, i + 1)),
    );
    return out;
  }),
  linear: def('composite', (ins) => {
    arity('linear', ins, 2, 3);
    const [x, w] = [tensorAt('linear', ins, 0), tensorAt('linear', ins, 1)];
    if (w.shape.length !== 2) throw new KilnError(`weight must be 2-D [out, in], got ${describe(w)}`, { op: 'linear' });
    if (x.shape.length === 0 || x.shape.at(-1) !== w.shape[1]) {
      throw new KilnError(`input ${describe(x)} does not match weight ${describe(w)} (expected last dim ${w.shape[1]})`, { op: 'linear' });
    }
    checkSameDtype('linear', x, w);
    const shape = [...x.shape.slice(0, -1), w.shape[0]!];
    if (ins.length === 3) broadcastShapes('linear', shape, tensorAt('linear', ins, 2).shape);
    return like(x, { shape });
  }),
  embedding: def('composite', (ins) => {
    arity('embedding', ins, 2);
    const [idx, w] = [tensorAt('embedding', ins, 0), tensorAt('embedding', ins, 1)];
    expectDtype('embedding', 'indices', idx, ['int32']);
    if (w.shape.length !== 2) throw new KilnError(`weight must be 2-D [num, dim], got ${describe(w)}`, { op: 'embedding' });
    return like(w, { shape: [...idx.shape, w.shape[1]!] });
  }),
  dropout: def('composite', (ins) => {
    arity('dropout', ins, 1);
    const x = tensorAt('dropout', ins, 0);
    expectDtype('dropout', 'input', x, ['float32']);
    return like(x);
  }),
  scaledDotProductAttention: def('composite', (ins, a) => {
    const op = 'scaledDotProductAttention';
    arity(op, ins, 3, 4);
    const [q, k, v] = [0, 1, 2].map((i) => tensorAt(op, ins, i)) as [TensorMeta, TensorMeta, TensorMeta];
    if ([q, k, v].some((t) => t.shape.length < 2)) {
      throw new KilnError(`q, k, v need at least 2 dims, got ${describe(q)}, ${describe(k)}, ${describe(v)}`, { op });
    }
    if (q.shape.at(-1) !== k.shape.at(-1) || k.shape.at(-2) !== v.shape.at(-2)) {
      throw new KilnError(`expected q [..., L, E], k [..., S, E], v [..., S, Ev], got ${describe(q)}, ${describe(k)}, ${describe(v)}`, {
        op,
      });
    }
    const batch = broadcastShapes(op, q.shape.slice(0, -2), k.shape.slice(0, -2), v.shape.slice(0, -2));
    const scores = [...batch, q.shape.at(-2)!, k.shape.at(-2)!];
    if (ins.length === 4) {
      if (a.isCausal) throw new KilnError('attnMask and isCausal cannot both be given', { op });
      broadcastShapes(op, scores, tensorAt(op, ins, 3).shape);
    }
    return like(q, { shape: [...batch, q.shape.at(-2)!, v.shape.at(-1)!], dtype: 'float32' });
  }),
  crossEntropy: def('composite', (ins, a) => {
    arity('crossEntropy', ins, 2);
    const [logits, targets] = [tensorAt('crossEntropy', ins, 0), tensorAt('crossEntropy', ins, 1)];
    expectDtype('crossEntropy', 'targets', targets, ['int32']);
    if (logits.shape.length !== 2 || targets.shape.length !== 1 || targets.shape[0] !== logits.shape[0]) {
      throw new KilnError(`expected logits [N, C] and targets [N], got ${describe(logits)} and ${describe(targets)}`, {
        op: 'crossEntropy',
      });
    }
    return like(logits, { shape: a.reduction === 'none' ? [logits.shape[0]!] : [], dtype: 'float32' });
  }),
  stack: def('composite', (ins, a) => {
    if (ins.length === 0) throw new KilnError('expected at least one tensor', { op: 'stack' });
    const ts = ins.map((_, i) => tensorAt('stack', ins, i));
    const first = ts[0]!;
    const bad = ts.findIndex((t) => shapeStr(t.shape) !== shapeStr(first.shape));
    if (bad >= 0)
      throw new KilnError(`all tensors must have the same shape: ${describe(first)} (input 0) vs ${describe(ts[bad]!)} (input ${bad})`, {
        op: 'stack',
      });
    const d = normalizeDim('stack', a.dim, first.shape.length + 1);
    const shape = [...first.shape];
    shape.splice(d, 0, ts.length);
    return like(first, { shape, dtype: resultType(ts.map((t) => t.dtype)) });
  }),
  indexSelect: def('composite', (ins, a) => {
    arity('indexSelect', ins, 2);
    const [x, idx] = [tensorAt('indexSelect', ins, 0), tensorAt('indexSelect', ins, 1)];
    expectDtype('indexSelect', 'index', idx, ['int32']);
    if (idx.shape.length > 1) throw new KilnError(`index must be 0-D or 1-D, got ${describe(idx)}`, { op: 'indexSelect' });
    if (x.shape.length === 0) throw new KilnError('input must have at least 1 dim', { op: 'indexSelect' });
    const shape = [...x.shape];
    shape[normalizeDim('indexSelect', a.dim, x.shape.length)] = numelOf(idx.shape);
    return like(x, { shape });
  }),
  clone: def('composite', (ins) => {
    arity('clone', ins, 1);
    return like(tensorAt('clone', ins, 0));
  }),
  tril: def('composite', (ins) => triangle('tril', ins)),
  triu: def('composite', (ins) => triangle('triu', ins)),
  maskedFill: def('composite', (ins) => {
    arity('maskedFill', ins, 2);
    const [x, mask] = [tensorAt('maskedFill', ins, 0), tensorAt('maskedFill', ins, 1)];
    expectDtype('maskedFill', 'mask', mask, ['bool']);
    if (shapeStr(broadcastShapes('maskedFill', x.shape, mask.shape)) !== shapeStr(x.shape)) {
      throw new KilnError(`mask ${describe(mask)} does not broadcast to the input ${describe(x)}`, { op: 'maskedFill' });
    }
    return like(x);
  }),
};

/** tril / triu: a matrix or a batch of them. */
function triangle(op: 'tril' | 'triu', ins: readonly InputMeta[]): TensorMeta {
  arity(op, ins, 1);
  const x = tensorAt(op, ins, 0);
  if (x.shape.length < 2) throw new KilnError(`input must have at least 2 dims (a matrix), got ${describe(x)}`, { op });
  return like(x);
}

export const OPS: { [N in OpName]: OpDef<N> } = {
  ...mapKeys(ELEMENTWISE, elementwiseDef),
  ...mapKeys(
    REDUCTIONS,
    (op): OpDef<ReduceOp> => def('reduce', (ins, a) => reduceInfer(op, ins, a, REDUCTIONS[op].out, REDUCTIONS[op].emptyOk)),
  ),
  ...(mapKeys(MOVEMENT, movementDef) as { [N in MovementOp]: OpDef<N> }),
  ...COMPOSITE,
  matmul: def('matmul', (ins) => {
    arity('matmul', ins, 2);
    const [a, b] = [tensorAt('matmul', ins, 0), tensorAt('matmul', ins, 1)];
    checkSameDtype('matmul', a, b);
    expectDtype('matmul', 'operands', a, ['float32', 'int32']);
    return like(a, { shape: matmulShape('matmul', a, b) });
  }),
  cat: def('cat', (ins, a) => {
    if (ins.length === 0) throw new KilnError('expected at least one tensor', { op: 'cat' });
    const ts = ins.map((_, i) => tensorAt('cat', ins, i));
    const first = ts[0]!;
    if (first.shape.length === 0) throw new KilnError('zero-dimensional tensors cannot be concatenated', { op: 'cat' });
    const d = normalizeDim('cat', a.dim, first.shape.length);
    ts.forEach((t, i) => {
      if (t.shape.length !== first.shape.length || t.shape.some((s, k) => k !== d && s !== first.shape[k])) {
        throw new KilnError(`tensors must match except in dim ${d}: ${describe(first)} (input 0) vs ${describe(t)} (input ${i})`, {
          op: 'cat',
        });
      }
    });
    const shape = [...first.shape];
    shape[d] = ts.reduce((n, t) => n + t.shape[d]!, 0);
    return like(first, { shape, dtype: resultType(ts.map((t) => t.dtype)) });
  }),
  gather: def('gather', (ins, a) => {
    arity('gather', ins, 2);
    const [x, idx] = [tensorAt('gather', ins, 0), tensorAt('gather', ins, 1)];
    expectDtype('gather', 'index', idx, ['int32']);
    const d = normalizeDim('gather', a.dim, x.shape.length);
    if (idx.shape.length !== x.shape.length || idx.shape.some((s, k) => k !== d && s > x.shape[k]!)) {
      throw new KilnError(`index ${describe(idx)} must have the rank of input ${describe(x)} and no larger size outside dim ${d}`, {
        op: 'gather',
      });
    }
    return like(x, { shape: idx.shape });
  }),
  full: def('full', (ins, a) => {
    arity('full', ins, 0);
    return { shape: a.shape, dtype: a.dtype, device: a.device };
  }),
  arange: def('arange', (ins, a) => {
    arity('arange', ins, 0);
    const n = Math.ceil((a.end - a.start) / a.step);
    if (a.step === 0 || !Number.isFinite(n) || (n < 0 && a.end !== a.start)) {
      throw new KilnError(`cannot go from ${a.start} to ${a.end} in steps of ${a.step}`, { op: 'arange' });
    }
    return { shape: [Math.max(n, 0)], dtype: a.dtype, device: a.device };
  }),
  rand: def('random', (ins, a) => {
    arity('rand', ins, 0);
    return { shape: a.shape, dtype: 'float32', device: a.device };
  }),
  randn: def('random', (ins, a) => {
    arity('randn', ins, 0);
    return { shape: a.shape, dtype: 'float32', device: a.device };
  }),
  copy_: def('inplace', (ins) => {
    arity('copy_', ins, 2);
    const [dst, src] = [tensorAt('copy_', ins, 0), tensorAt('copy_', ins, 1)];
    expand('copy_', contiguousView(src.shape), dst.shape);
    return like(dst);
  }),
  scatterView: def('scatter', (ins, a) => {
    arity('scatterView', ins, 2);
    const [base, src] = [tensorAt('scatterView', ins, 0), tensorAt('scatterView', ins, 1)];
    asStrided('scatterView', contiguousView(base.shape), a.shape, a.strides, a.offset);
    if (shapeStr(src.shape) !== shapeStr(a.shape) || src.dtype !== base.dtype) {
      throw new KilnError(`src ${describe(src)} must be ${base.dtype}${shapeStr(a.shape)}, the view written into ${describe(base)}`, {
        op: 'scatterView',
      });
    }
    return like(base);
  }),
  fill_: def('inplace', (ins) => {
    arity('fill_', ins, 1);
    return like(tensorAt('fill_', ins, 0));
  }),
  to: def('transfer', (ins, a) => {
    arity('to', ins, 1);
    return like(tensorAt('to', ins, 0), { device: a.device });
  }),
};

/**
 * The checked output meta of `op` on `inputs`: the attributes must be what
 * the op accepts (./attr-checks), all tensor inputs must be on one device,
 * then the op's own checks run. Used by the dispatcher and the
 * graph builder alike.
 */
export function inferMeta<N extends OpName>(op: N, inputs: readonly InputMeta[], attrs: AttrsOf[N]): TensorMeta {
  checkAttrs(op, attrs);
  const tensors = inputs.filter(isMeta);
  const other = tensors.find((t) => t.device !== tensors[0]!.device);
  if (other) {
    const list = tensors.map((t, i) => `${describe(t)} on ${t.device} (input ${i})`).join(', ');
    throw new KilnError(`expected all tensors on one device, got ${list}`, { op });
  }
  const opDef: OpDef<N> = OPS[op];
  return opDef.infer(inputs, attrs);
}
