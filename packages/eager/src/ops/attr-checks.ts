/**
 * What each op's attributes accept: one row per op, keyed by `OpName`, so
 * adding an op without its row is a type error. `inferMeta` checks the
 * attributes against the row before inference, so a bad `dim`, shape,
 * dtype or option is rejected the same way eagerly, under a tracer and when
 * a graph is built, with a KilnError naming the op and the attribute, before
 * any kernel (or WGSL) sees it. Relations between attributes and inputs
 * (a dim in range, a shape that matches) are the op's inference's job.
 */

import type { Check } from '../checks';
import {
  BOOL,
  BOUND,
  check,
  checkArg,
  DEVICE,
  DIM_LIST,
  DIMS,
  DTYPE,
  FINITE,
  INT,
  NON_NEGATIVE_INT,
  NUMBER,
  nullable,
  oneOf,
  POSITIVE_INT,
  SCALAR,
  SHAPE,
  TARGET_SHAPE,
} from '../checks';
import { ELEMENTWISE } from './elementwise';
import { REDUCTIONS } from './reductions';
import type { AttrsOf, OpName, ReduceAttrs, VarAttrs } from './table';

/** A check for every attribute of an op. */
export type AttrSchema<A> = { readonly [K in keyof A]-?: Check<A[K]> };

const NONE = {};
const REDUCE: AttrSchema<ReduceAttrs> = { dim: DIM_LIST, keepdim: BOOL };
const VAR: AttrSchema<VarAttrs> = { ...REDUCE, correction: NUMBER };
const DIM = { dim: INT };
const PROBABILITY = check<number>('a number in [0, 1]', (v) => typeof v === 'number' && v >= 0 && v <= 1);

function mapKeys<K extends string, V>(table: Record<K, unknown>, value: V): Record<K, V> {
  return Object.fromEntries(Object.keys(table).map((k) => [k, value])) as Record<K, V>;
}

export const ATTR_CHECKS: { [N in OpName]: AttrSchema<AttrsOf[N]> } = {
  ...mapKeys(ELEMENTWISE, NONE),
  cast: { dtype: DTYPE },
  ...mapKeys(REDUCTIONS, REDUCE),

  reshape: { shape: TARGET_SHAPE },
  view: { shape: TARGET_SHAPE },
  permute: { dims: DIMS },
  transpose: { dim0: INT, dim1: INT },
  unsqueeze: DIM,
  squeeze: { dim: DIM_LIST },
  expand: { shape: TARGET_SHAPE },
  flatten: { startDim: INT, endDim: INT },
  slice: { dim: INT, start: BOUND, end: BOUND, step: POSITIVE_INT },
  contiguous: NONE,
  asStrided: { shape: SHAPE, strides: SHAPE, offset: NON_NEGATIVE_INT },
  scatterView: { shape: SHAPE, strides: SHAPE, offset: NON_NEGATIVE_INT },

  mean: REDUCE,
  var: VAR,
  std: VAR,
  logsumexp: REDUCE,
  clamp: { min: nullable(NUMBER), max: nullable(NUMBER) },
  gelu: { approximate: oneOf(['none', 'tanh']) },
  silu: NONE,
  softmax: DIM,
  logSoftmax: DIM,
  layerNorm: { normalizedShape: SHAPE, eps: NUMBER, hasWeight: BOOL, hasBias: BOOL },
  rmsNorm: { normalizedShape: SHAPE, eps: nullable(NUMBER) },
  linear: NONE,
  embedding: NONE,
  dropout: { p: PROBABILITY, training: BOOL },
  scaledDotProductAttention: { isCausal: BOOL, scale: nullable(NUMBER) },
  crossEntropy: { reduction: oneOf(['mean', 'sum', 'none']) },
  stack: DIM,
  indexSelect: DIM,
  clone: NONE,
  tril: { diagonal: INT },
  triu: { diagonal: INT },
  maskedFill: { value: SCALAR },

  matmul: NONE,
  cat: DIM,
  gather: DIM,
  full: { shape: SHAPE, value: SCALAR, dtype: DTYPE, device: DEVICE },
  arange: { start: FINITE, end: FINITE, step: FINITE, dtype: oneOf(['float32', 'int32']), device: DEVICE },
  rand: { shape: SHAPE, device: DEVICE },
  randn: { shape: SHAPE, device: DEVICE },
  copy_: NONE,
  fill_: { value: SCALAR },
  to: { device: DEVICE },
};

/** Throws a KilnError naming `op` and the first attribute its row rejects. */
export function checkAttrs<N extends OpName>(op: N, attrs: AttrsOf[N]): void {
  const schema: AttrSchema<AttrsOf[N]> = ATTR_CHECKS[op];
  for (const key in schema) checkArg(op, key, attrs[key], schema[key]);
}
