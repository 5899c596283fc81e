/**
 * The scalar expression IR of the loop level. A kernel body is an `Expr`
 * over loop index variables: values (float32/int32/bool) built from the op
 * table's elementwise templates, and integer index arithmetic (`Index`) that
 * view ops compose into. Expressions are immutable trees built by the smart
 * constructors below, which fold constants so that index math stays small;
 * renderers (../codegen) spell them in WGSL or JS, sharing common
 * subexpressions by their key.
 */
import type { DType, ElementwiseOp, ElementwiseTypes } from '@kiln/eager';
import { isStatic, type Size } from './size';

export type { Size };

/** Unsigned integer index arithmetic (u32 in WGSL, a JS number). */
export type Index =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'var'; readonly name: string }
  | { readonly kind: 'sym'; readonly sym: number }
  | { readonly kind: 'add' | 'mul' | 'div' | 'mod' | 'min'; readonly a: Index; readonly b: Index }
  /** A data-dependent index: an int32 value used as an index (gather). */
  | { readonly kind: 'value'; readonly value: Expr };

export type Expr =
  | { readonly kind: 'const'; readonly value: number; readonly dtype: DType }
  /** Element `index` of kernel input `input` (stored as `dtype`). */
  | { readonly kind: 'load'; readonly input: number; readonly index: Index; readonly dtype: DType }
  | { readonly kind: 'call'; readonly op: ElementwiseOp; readonly args: readonly Expr[]; readonly types: ElementwiseTypes; readonly dtype: DType }
  /** `a < b` on indices, as a bool value (cat and masks choose by position). */
  | { readonly kind: 'less'; readonly a: Index; readonly b: Index; readonly dtype: 'bool' }
  /** An index as an int32 or float32 value (arange). */
  | { readonly kind: 'fromIndex'; readonly index: Index; readonly dtype: DType }
  /** Element `index` of the kernel's own output `output`, written earlier in the same thread (see reuseRowValues). */
  | { readonly kind: 'reload'; readonly output: number; readonly index: Index; readonly dtype: DType }
  /** The finished accumulator of reduction `id` of the enclosing row kernel. */
  | { readonly kind: 'acc'; readonly id: number; readonly dtype: DType }
  /**
   * Philox number at position `index` of random node `source`'s stream (see
   * @kiln/eager random); the kernel passes each source's seed and offset.
   */
  | { readonly kind: 'random'; readonly dist: 'uniform' | 'normal'; readonly source: number; readonly index: Index; readonly dtype: 'float32' };

export const int = (value: number): Index => ({ kind: 'int', value });
export const ivar = (name: string): Index => ({ kind: 'var', name });

/** A size as index arithmetic: a literal, or its symbols (read from the kernel's metadata) times its coefficient. */
export function size(s: Size): Index {
  if (isStatic(s)) return int(s);
  return s.syms.reduce<Index>((acc, k) => mul(acc, { kind: 'sym', sym: k }), int(s.coeff));
}

const isInt = (x: Index, v?: number): x is { kind: 'int'; value: number } => x.kind === 'int' && (v === undefined || x.value === v);

export function add(a: Index, b: Index): Index {
  if (isInt(a) && isInt(b)) return int(a.value + b.value);
  if (isInt(a, 0)) return b;
  if (isInt(b, 0)) return a;
  // (x / c) * c + x % c = x: linearizing an unravelled index gives it back,
  // so a contiguous read of a reshaped value stays a plain linear load.
  if (a.kind === 'mul' && a.a.kind === 'div' && b.kind === 'mod' && sameIndex(a.a.b, a.b) && sameIndex(a.b, b.b) && sameIndex(a.a.a, b.a)) {
    return a.a.a;
  }
  return { kind: 'add', a, b };
}

export function sameIndex(a: Index, b: Index): boolean {
  return a === b || keyOf(a) === keyOf(b);
}

export function mul(a: Index, b: Index): Index {
  if (isInt(a) && isInt(b)) return int(a.value * b.value);
  if (isInt(a, 0) || isInt(b, 0)) return int(0);
  if (isInt(a, 1)) return b;
  if (isInt(b, 1)) return a;
  return { kind: 'mul', a, b };
}

export function div(a: Index, b: Index): Index {
  if (isInt(b, 1)) return a;
  if (isInt(a) && isInt(b)) return int(Math.floor(a.value / b.value));
  if (isInt(a, 0)) return a;
  // (x * c) / c = x, the common case of a reshape undoing a flatten.
  if (a.kind === 'mul' && isInt(b) && isInt(a.b, b.value)) return a.a;
  return { kind: 'div', a, b };
}

export function mod(a: Index, b: Index): Index {
  if (isInt(b, 1)) return int(0);
  if (isInt(a) && isInt(b)) return int(a.value % b.value);
  if (isInt(a, 0)) return a;
  return { kind: 'mod', a, b };
}

export function min(a: Index, b: Index): Index {
  if (isInt(a) && isInt(b)) return int(Math.min(a.value, b.value));
  return { kind: 'min', a, b };
}

export const constant = (value: number, dtype: DType): Expr => ({ kind: 'const', value, dtype });

/** Row-major linear index of `idx` in `shape`. */
export function linearize(idx: readonly Index[], shape: readonly Size[]): Index {
  let out: Index = int(0);
  idx.forEach((i, d) => {
    out = add(mul(out, size(shape[d]!)), i);
  });
  return out;
}

/** The multi-index of row-major linear index `flat` in `shape`. */
export function unravel(flat: Index, shape: readonly Size[]): Index[] {
  const out: Index[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = size(shape[d]!);
    out.unshift(d === 0 ? rest : mod(rest, s));
    rest = div(rest, s);
  }
  return out;
}

/** A stable text key of an expression, for sharing subexpressions and caching kernels. */
export function keyOf(e: Expr | Index): string {
  switch (e.kind) {
    case 'int': return String(e.value);
    case 'var': return e.name;
    case 'sym': return `s${e.sym}`;
    case 'add': case 'mul': case 'div': case 'mod': case 'min': return `${e.kind}(${keyOf(e.a)},${keyOf(e.b)})`;
    case 'value': return `ix(${keyOf(e.value)})`;
    case 'const': return `${e.dtype}:${Object.is(e.value, -0) ? '-0' : e.value}`;
    case 'load': return `in${e.input}[${keyOf(e.index)}]`;
    case 'call': return `${e.op}<${e.types.compute.join(',')}>${e.types.out}(${e.args.map(keyOf).join(',')})`;
    case 'less': return `lt(${keyOf(e.a)},${keyOf(e.b)})`;
    case 'fromIndex': return `${e.dtype}(${keyOf(e.index)})`;
    case 'acc': return `acc${e.id}`;
    case 'reload': return `out${e.output}[${keyOf(e.index)}]`;
    case 'random': return `${e.dist}(r${e.source},${keyOf(e.index)})`;
  }
}

/** The direct subexpressions of an expression (values and indices). */
export function children(e: Expr | Index): (Expr | Index)[] {
  switch (e.kind) {
    case 'add': case 'mul': case 'div': case 'mod': case 'min': return [e.a, e.b];
    case 'value': return [e.value];
    case 'load': case 'fromIndex': case 'random': case 'reload': return [e.index];
    case 'call': return [...e.args];
    case 'less': return [e.a, e.b];
    default: return [];
  }
}

/** `e` with every value subexpression whose key is in `replace` swapped for its replacement. */
export function substitute(e: Expr, replace: ReadonlyMap<string, Expr>): Expr {
  const hit = replace.get(keyOf(e));
  if (hit) return hit;
  if (e.kind !== 'call') return e;
  return { ...e, args: e.args.map((a) => substitute(a, replace)) };
}
