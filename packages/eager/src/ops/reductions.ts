/**
 * Primitive reductions as templates, rendered to JS and WGSL like the
 * elementwise ops (same value conventions, see ./elementwise).
 *
 * A reduction walks the reduced elements of one output element in row-major
 * order. `accumulate` reductions fold with `step(acc, x)`; `select`
 * reductions keep the element (and its position) for which `step(acc, x)`,
 * "x beats acc", holds — the first one on ties, and NaN beats everything as
 * in PyTorch. Composite reductions (mean, var, std, logsumexp) are
 * decompositions, not templates.
 */
import type { DType } from '../dtype';
import { literal } from '../wgsl';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin' | 'any' | 'all';

export interface ReduceRender {
  /** The accumulator's starting value. */
  init(dt: DType): string;
  /** accumulate: the new accumulator; select: whether x replaces acc. */
  step(acc: string, x: string, dt: DType): string;
}

export interface ReduceSpec {
  readonly mode: 'accumulate' | 'select';
  /** The result is the position of the selected element in the reduced extent (argmax / argmin). */
  readonly index: boolean;
  /** Whether an empty extent has a value (its identity); otherwise reducing one is an error, as in PyTorch. */
  readonly emptyOk: boolean;
  /** The dtype elements are read as (and the template computes in). */
  math(input: DType): DType;
  /** The output dtype (sum of ints is int32: PyTorch's int64 does not exist here). */
  out(input: DType): DType;
  readonly js: ReduceRender;
  readonly wgsl: ReduceRender;
}

const numeric = (d: DType): DType => (d === 'bool' ? 'int32' : d);
// Float identities through literal(): a constant accumulator (an empty row) must not fold into what reads it (0 / 0 to 0).
const wgslNumber = (n: number) => (dt: DType) => literal(n, dt);

const accumulate = (identity: number, js: ReduceRender['step'], wgsl: ReduceRender['step']): ReduceSpec => ({
  mode: 'accumulate',
  index: false,
  emptyOk: true,
  math: numeric,
  out: numeric,
  js: { init: () => String(identity), step: js },
  wgsl: { init: wgslNumber(identity), step: wgsl },
});

/** max-like (sign 1) or min-like (sign -1) selection. */
const select = (sign: 1 | -1, index: boolean): ReduceSpec => {
  const cmp = sign > 0 ? '>' : '<';
  const worst = (dt: DType, inf: string, int: string) => (dt === 'float32' ? inf : int);
  return {
    mode: 'select',
    index,
    emptyOk: false,
    math: numeric,
    out: (d) => (index ? 'int32' : d),
    js: {
      init: (dt) => worst(dt, sign > 0 ? '-Infinity' : 'Infinity', sign > 0 ? '-2147483648' : '2147483647'),
      step: (acc, x) => `(${x} ${cmp} ${acc} || (${x} !== ${x} && ${acc} === ${acc}))`,
    },
    wgsl: {
      init: (dt) => worst(dt, literal(-sign * Infinity, 'float32'), sign > 0 ? 'i32(-2147483647 - 1)' : 'i32(2147483647)'),
      // Bit tests: WGSL may assume no NaN, so `x != x` can fold to false.
      step: (acc, x, dt) => (dt === 'float32' ? `(${x} ${cmp} ${acc} || (is_nan(${x}) && !is_nan(${acc})))` : `(${x} ${cmp} ${acc})`),
    },
  };
};

const logical = (identity: boolean, js: string, wgsl: string): ReduceSpec => ({
  mode: 'accumulate',
  index: false,
  emptyOk: true,
  math: () => 'bool',
  out: () => 'bool',
  js: { init: () => (identity ? '1' : '0'), step: (a, x) => `(${a} ${js} ${x})` },
  wgsl: { init: () => String(identity), step: (a, x) => `(${a} ${wgsl} ${x})` },
});

export const REDUCTIONS: Record<ReduceOp, ReduceSpec> = {
  sum: accumulate(
    0,
    (a, x, dt) => (dt === 'float32' ? `(${a} + ${x})` : `((${a} + ${x}) | 0)`),
    (a, x) => `(${a} + ${x})`,
  ),
  prod: accumulate(
    1,
    (a, x, dt) => (dt === 'float32' ? `(${a} * ${x})` : `Math.imul(${a}, ${x})`),
    (a, x) => `(${a} * ${x})`,
  ),
  max: select(1, false),
  min: select(-1, false),
  argmax: select(1, true),
  argmin: select(-1, true),
  any: logical(false, '|', '||'),
  all: logical(true, '&', '&&'),
};
