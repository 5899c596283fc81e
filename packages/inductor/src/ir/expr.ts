/**
 * The scalar expression IR of the loop level. A kernel body is an `Expr`
 * over loop index variables: values (float32/int32/bool) built from the op
 * table's elementwise templates, and integer index arithmetic (`Index`) that
 * view ops compose into. Expressions are immutable trees built by the smart
 * constructors below, which fold constants so that index math stays small;
 * renderers (../codegen) spell them in WGSL or JS, sharing common
 * subexpressions by their key.
 */
import { type DType, type ElementwiseOp, type ElementwiseTypes, KilnError } from '@kiln/eager';
import { isStatic, type Size } from './size';

export type { Size };

/** Unsigned integer index arithmetic (u32 in WGSL, a JS number). */
export type Index =
  | { readonly kind: 'int'; readonly value: number }
  /** A loop index; `bound` (when known) is its exclusive upper limit, which lets div and mod simplify. */
  | { readonly kind: 'var'; readonly name: string; readonly bound?: number }
  | { readonly kind: 'sym'; readonly sym: number }
  | { readonly kind: 'add' | 'mul' | 'div' | 'mod' | 'min'; readonly a: Index; readonly b: Index }
  /**
   * A data-dependent index: an int32 value used as an index (gather),
   * clamped into [0, bound) so that no read leaves the tensor. That the value
   * was in range is checked by a `check` expression around the read, which
   * stays when simplification or a view drops this index (a size-1 dim).
   */
  | { readonly kind: 'value'; readonly value: Expr; readonly bound: Index };

/** What a checked index indexes, for its error: the op the user called and the dim. */
export interface IndexCheck {
  readonly op: string;
  readonly dim: number;
}

export type Expr =
  | { readonly kind: 'const'; readonly value: number; readonly dtype: DType }
  /** Element `index` of kernel input `input` (stored as `dtype`). */
  | { readonly kind: 'load'; readonly input: number; readonly index: Index; readonly dtype: DType }
  | {
      readonly kind: 'call';
      readonly op: ElementwiseOp;
      readonly args: readonly Expr[];
      readonly types: ElementwiseTypes;
      readonly dtype: DType;
    }
  /** `a < b` on indices, as a bool value (cat and masks choose by position). */
  | { readonly kind: 'less'; readonly a: Index; readonly b: Index; readonly dtype: 'bool' }
  /** An index as an int32 or float32 value (arange). */
  | { readonly kind: 'fromIndex'; readonly index: Index; readonly dtype: DType }
  /** Element `index` of the kernel's own output `output`, written earlier in the same thread (see reuseRowValues). */
  | { readonly kind: 'reload'; readonly output: number; readonly index: Index; readonly dtype: DType }
  /**
   * `then`, after checking that int32 `value` is in [0, bound); a value
   * outside is an error of `check` (the op the user called, the dim),
   * raised at once (JS) or as a device-side assert (WGSL).
   */
  | {
      readonly kind: 'check';
      readonly value: Expr;
      readonly bound: Index;
      readonly check: IndexCheck;
      readonly then: Expr;
      readonly dtype: DType;
    }
  /** The finished accumulator of reduction `id` (its position) of the enclosing row kernel; 0 is a matmul's product. */
  | { readonly kind: 'acc'; readonly id: number; readonly dtype: DType }
  /**
   * Philox number at position `index` of random node `source`'s stream (see
   * @kiln/eager random); the kernel passes each source's seed and offset.
   */
  | {
      readonly kind: 'random';
      readonly dist: 'uniform' | 'normal';
      readonly source: number;
      readonly index: Index;
      readonly dtype: 'float32';
    };

export const int = (value: number): Index => ({ kind: 'int', value });
export const ivar = (name: string, bound?: Size): Index =>
  typeof bound === 'number' ? { kind: 'var', name, bound } : { kind: 'var', name };

/** Inclusive [lo, hi] of an index's values (indices are never negative; hi may be Infinity). */
export function rangeOf(e: Index): [number, number] {
  switch (e.kind) {
    case 'int':
      return [e.value, e.value];
    case 'var':
      return [0, e.bound === undefined ? Infinity : e.bound - 1];
    case 'sym':
      return [0, Infinity];
    case 'add': {
      const [a, b] = [rangeOf(e.a), rangeOf(e.b)];
      return [a[0] + b[0], a[1] + b[1]];
    }
    case 'mul': {
      const [a, b] = [rangeOf(e.a), rangeOf(e.b)];
      return a[0] < 0 || b[0] < 0 ? [-Infinity, Infinity] : [a[0] * b[0], a[1] * b[1]];
    }
    case 'div': {
      const [a, b] = [rangeOf(e.a), rangeOf(e.b)];
      return b[0] > 0 ? [Math.floor(a[0] / b[1]), Math.floor(a[1] / b[0])] : [0, Infinity];
    }
    case 'mod': {
      const [a, b] = [rangeOf(e.a), rangeOf(e.b)];
      return [0, Math.min(a[1], b[1] - 1)];
    }
    case 'min': {
      const [a, b] = [rangeOf(e.a), rangeOf(e.b)];
      return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
    }
    case 'value':
      return [0, rangeOf(e.bound)[1] - 1];
  }
}

/** The terms of a sum, each as (atom, integer coefficient); constants have atom undefined. */
function terms(e: Index): { atom: Index | undefined; coeff: number }[] {
  if (e.kind === 'add') return [...terms(e.a), ...terms(e.b)];
  if (e.kind === 'int') return [{ atom: undefined, coeff: e.value }];
  if (e.kind === 'mul' && (e.a.kind === 'int' || e.b.kind === 'int')) {
    const [k, x] = e.b.kind === 'int' ? [e.b.value, e.a] : [(e.a as { value: number }).value, e.b];
    return terms(x).map((t) => ({ atom: t.atom, coeff: t.coeff * k }));
  }
  return [{ atom: e, coeff: 1 }];
}

function sumOf(ts: readonly { atom: Index | undefined; coeff: number }[]): Index {
  const constant = ts.reduce((n, t) => (t.atom === undefined ? n + t.coeff : n), 0);
  const sum = ts.reduce<Index>((acc, t) => (t.atom === undefined ? acc : add(acc, mul(t.atom, int(t.coeff)))), int(0));
  return add(sum, int(constant));
}

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
  // Constants on the right: a negative one is then spelled as a subtraction (indices are unsigned in WGSL).
  if (isInt(a)) return add(b, a);
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

/**
 * Floor division. By a constant c, terms whose coefficient c divides come out
 * of the division, and what remains vanishes when its range is below c:
 * (t * 96 + h * 8 + d) / 32 = t * 3 when h * 8 + d < 32. This is what turns a
 * reshape of a sliced or transposed view back into strided (affine) reads.
 */
export function div(a: Index, b: Index): Index {
  if (isInt(b, 1)) return a;
  // A size-0 dim: no element is ever computed, and WGSL rejects a constant division by zero.
  if (isInt(b, 0)) return int(0);
  if (isInt(a) && isInt(b)) return int(Math.floor(a.value / b.value));
  if (isInt(a, 0)) return a;
  if (isInt(b) && b.value > 0) {
    const c = b.value;
    const ts = terms(a);
    const whole = ts.filter((t) => t.coeff % c === 0);
    const rest = ts.filter((t) => t.coeff % c !== 0);
    if (rest.every((t) => t.coeff >= 0)) {
      const out = sumOf(whole.map((t) => ({ atom: t.atom, coeff: t.coeff / c })));
      const r = sumOf(rest);
      return rangeOf(r)[1] < c ? out : add(out, whole.length ? div(r, b) : { kind: 'div', a: r, b });
    }
  }
  return { kind: 'div', a, b };
}

/** Remainder; by a constant c, terms c divides drop out, and a rest below c is itself. */
export function mod(a: Index, b: Index): Index {
  if (isInt(b, 1) || isInt(b, 0)) return int(0);
  if (isInt(a) && isInt(b)) return int(a.value % b.value);
  if (isInt(a, 0)) return a;
  if (isInt(b) && b.value > 0) {
    const ts = terms(a);
    const rest = ts.filter((t) => t.coeff % b.value !== 0);
    if (ts.every((t) => t.coeff >= 0)) {
      const r = sumOf(rest);
      if (rangeOf(r)[1] < b.value) return r;
      if (rest.length < ts.length) return { kind: 'mod', a: r, b };
    }
  }
  return { kind: 'mod', a, b };
}

/** Whether loop variable `name` occurs in `e`. */
export function mentions(e: Expr | Index, name: string): boolean {
  return (e.kind === 'var' && e.name === name) || children(e).some((c) => mentions(c, name));
}

/** `e` as `base + v`, `v` the loop variable `name` (coefficient 1) and `base` free of it: `base`; else undefined. */
export function offsetOf(e: Index, name: string): Index | undefined {
  const ts = terms(e);
  const own = ts.filter((t) => t.atom?.kind === 'var' && t.atom.name === name);
  const rest = ts.filter((t) => !own.includes(t));
  if (own.length !== 1 || own[0]!.coeff !== 1 || rest.some((t) => t.atom && mentions(t.atom, name))) return undefined;
  return sumOf(rest);
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

/** Each expression's key, once spelled: renderers ask for the key of every subexpression, so spelling it each time was quadratic in depth. */
const keys = new WeakMap<Expr | Index, string>();

/** A stable text key of an expression, for sharing subexpressions and caching kernels. */
export function keyOf(e: Expr | Index): string {
  let key = keys.get(e);
  if (key === undefined) keys.set(e, (key = spellKey(e)));
  return key;
}

function spellKey(e: Expr | Index): string {
  switch (e.kind) {
    case 'int':
      return String(e.value);
    case 'var':
      return e.name;
    case 'sym':
      return `s${e.sym}`;
    case 'add':
    case 'mul':
    case 'div':
    case 'mod':
    case 'min':
      return `${e.kind}(${keyOf(e.a)},${keyOf(e.b)})`;
    case 'value':
      return `ix(${keyOf(e.value)}<${keyOf(e.bound)})`;
    case 'check':
      return `check(${keyOf(e.value)}<${keyOf(e.bound)}:${e.check.op}@${e.check.dim},${keyOf(e.then)})`;
    case 'const':
      return `${e.dtype}:${Object.is(e.value, -0) ? '-0' : e.value}`;
    case 'load':
      return `in${e.input}[${keyOf(e.index)}]`;
    case 'call':
      return `${e.op}<${e.types.compute.join(',')}>${e.types.out}(${e.args.map(keyOf).join(',')})`;
    case 'less':
      return `lt(${keyOf(e.a)},${keyOf(e.b)})`;
    case 'fromIndex':
      return `${e.dtype}(${keyOf(e.index)})`;
    case 'acc':
      return `acc${e.id}`;
    case 'reload':
      return `out${e.output}[${keyOf(e.index)}]`;
    case 'random':
      return `${e.dist}(r${e.source},${keyOf(e.index)})`;
  }
}

/** The direct subexpressions of an expression (values and indices). */
export function children(e: Expr | Index): (Expr | Index)[] {
  switch (e.kind) {
    case 'add':
    case 'mul':
    case 'div':
    case 'mod':
    case 'min':
      return [e.a, e.b];
    case 'value':
      return [e.value, e.bound];
    case 'check':
      return [e.value, e.bound, e.then];
    case 'load':
    case 'fromIndex':
    case 'random':
    case 'reload':
      return [e.index];
    case 'call':
      return [...e.args];
    case 'less':
      return [e.a, e.b];
    default:
      return [];
  }
}

/** `e` with every value subexpression whose key is in `replace` swapped for its replacement. */
export function substitute(e: Expr, replace: ReadonlyMap<string, Expr>): Expr {
  const hit = replace.get(keyOf(e));
  if (hit) return hit;
  if (e.kind !== 'call') return e;
  return { ...e, args: e.args.map((a) => substitute(a, replace)) };
}

// ---- walks over expressions ----

/** Whether an expression checks a data-dependent index (a gather). */
export function checksIndices(e: Expr | Index): boolean {
  return e.kind === 'check' || children(e).some(checksIndices);
}

/** Input slots an expression loads from, in order of first use. */
export function loadedInputs(e: Expr): number[] {
  const slots: number[] = [];
  const visit = (x: Expr | Index): void => {
    if (x.kind === 'load' && !slots.includes(x.input)) slots.push(x.input);
    children(x).forEach(visit);
  };
  visit(e);
  return slots;
}

/** The random nodes an expression draws from. */
export function randomSourcesOf(e: Expr | Index, into = new Set<number>()): Set<number> {
  if (e.kind === 'random') into.add(e.source);
  for (const c of children(e)) randomSourcesOf(c, into);
  return into;
}

/**
 * What each kind of expression node costs to inline: an operation (a call,
 * index arithmetic, a comparison, a check, a random draw) 1; a load, a
 * constant, a variable or an accumulator nothing of its own.
 */
const NODE_COST: Record<Expr['kind'] | Index['kind'], 0 | 1> = {
  call: 1,
  add: 1,
  mul: 1,
  div: 1,
  mod: 1,
  min: 1,
  less: 1,
  fromIndex: 1,
  value: 1,
  check: 1,
  random: 1,
  load: 0,
  reload: 0,
  const: 0,
  int: 0,
  var: 0,
  sym: 0,
  acc: 0,
};

/** The inline cost of an expression: 1 plus its operations, a subexpression counted each time it is used. */
export function exprSize(e: Expr): number {
  return 1 + operations(e);
}

function operations(e: Expr | Index): number {
  let n = NODE_COST[e.kind];
  for (const c of children(e)) n += operations(c);
  return n;
}

/**
 * An index's value for a call's dynamic sizes and, where it has loop
 * variables, their values: what the runtime plans launches with (no
 * variables) and what tests check the simplifier against.
 */
export function indexValue(ix: Index, syms: readonly number[], vars: Readonly<Record<string, number>> = {}): number {
  const at = (e: Index) => indexValue(e, syms, vars);
  switch (ix.kind) {
    case 'int':
      return ix.value;
    case 'sym':
      return syms[ix.sym]!;
    case 'var':
      if (vars[ix.name] === undefined)
        throw new KilnError(`no value for loop variable ${ix.name} outside a kernel (bug)`, { op: 'inductor' });
      return vars[ix.name]!;
    case 'add':
      return at(ix.a) + at(ix.b);
    case 'mul':
      return at(ix.a) * at(ix.b);
    case 'div':
      return Math.floor(at(ix.a) / at(ix.b));
    case 'mod':
      return at(ix.a) % at(ix.b);
    case 'min':
      return Math.min(at(ix.a), at(ix.b));
    case 'value':
      throw new KilnError('a data-dependent index has no value outside a kernel (bug)', { op: 'inductor' });
  }
}

/** Index lists with the same keys. */
export function sameIndices(a: readonly Index[], b: readonly Index[]): boolean {
  return a.length === b.length && a.every((x, i) => keyOf(x) === keyOf(b[i]!));
}
