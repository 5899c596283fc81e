/**
 * Loop-IR expressions as f32x4 code: the wasm counterpart of
 * codegen/emit-expr's ExprEmitter, four elements at a time. float32 values
 * are f32x4 lanes; bool values are lane masks (all ones or zero), what
 * f32x4 comparisons give and v128.bitselect takes. Every value is computed
 * once into a v128 local, keyed by its structure, so shared subexpressions
 * are shared. Each op's result is a float32 lane, so fused ops round as
 * eager's stores do without an explicit `keep`; NaN, infinities and -0
 * follow the IEEE instructions, which agree with the JS templates (min/max
 * propagate NaN, relu is max(x, 0)). Index comparisons (cat, padding
 * masks) are computed per lane in i32 into a mask; sin and cos call the host's
 * Math per lane (eager's values to the bit). Anything else (int32
 * values, random numbers, index checks, ops without a vector form) is a
 * NoWasmForm.
 */
import { castScalar, type DType, type ElementwiseOp } from '@kiln/eager';
import type { FunctionBuilder, HostMath, SimdOp } from '@kiln/eager/kernels';
import { BINARY, hostFunction, UNARY, type UnaryFn } from '@kiln/eager/kernels';
import { type Expr, type Index, keyOf } from '../../ir/expr';
import { NoWasmForm } from './no-wasm-form';

/** A read of a kernel input, or of an output element the kernel wrote earlier in the row. */
export type ReadExpr = Extract<Expr, { kind: 'load' | 'reload' }>;

/** What the kernel around an expression provides. */
export interface WasmExprScope {
  /** Pushes the four elements (a v128) `read` reads in this loop body. */
  load(read: ReadExpr): void;
  /** Pushes the lane mask of index comparison `a < b` (lanes.emitIndexLess). */
  less(a: Index, b: Index): void;
  /** The v128 local holding finished accumulator `id` (splatted), in row kernels. */
  acc?(id: number): number | undefined;
}

/** An op on its arguments' locals, pushing its v128 result. */
type Spell = (c: FunctionBuilder, args: readonly number[]) => void;

const unary =
  (fn: UnaryFn): Spell =>
  (c, [a]) => {
    c.get(a!);
    UNARY[fn](c);
  };
const simd =
  (...ops: SimdOp[]): Spell =>
  (c, args) => {
    for (const a of args) c.get(a);
    for (const op of ops) c.op(op);
  };
/** 1 / f(a): the JS templates' reciprocal and rsqrt. */
const oneOver =
  (...ops: SimdOp[]): Spell =>
  (c, [a]) => {
    c.f32x4(1).get(a!);
    for (const op of ops) c.op(op);
    c.op('f32x4.div');
  };

/** The host's float64 function (Math.sin, eager's pow, ...) on each lane of its arguments: JavaScript's value, eager's, to the bit. */
const perLane =
  (name: HostMath): Spell =>
  (c, args) => {
    c.get(args[0]!);
    for (let l = 0; l < 4; l++) {
      for (const a of args) c.get(a).lane('f32x4.extract_lane', l).op('f64.promote_f32');
      c.call(hostFunction(name)).op('f32.demote_f64');
      c.lane('f32x4.replace_lane', l);
    }
  };

/** Math.sign: ±1 by the comparisons, the value itself where neither holds (±0, NaN). */
const sign: Spell = (c, [a]) => {
  const positive = c.local('v128');
  c.f32x4(1).get(a!).get(a!).f32x4(0).op('f32x4.gt').op('v128.bitselect').set(positive);
  c.f32x4(-1).get(positive).get(a!).f32x4(0).op('f32x4.lt').op('v128.bitselect');
};

/** float32 math, by op. */
const FLOAT: Partial<Record<ElementwiseOp, Spell>> = {
  neg: unary('neg'),
  abs: unary('abs'),
  sqrt: unary('sqrt'),
  relu: unary('relu'),
  exp: unary('exp'),
  log: unary('log'),
  tanh: unary('tanh'),
  erf: unary('erf'),
  sigmoid: unary('sigmoid'),
  rsqrt: oneOver('f32x4.sqrt'),
  reciprocal: oneOver(),
  square: (c, [a]) => c.get(a!).get(a!).op('f32x4.mul'),
  sin: perLane('sin'),
  cos: perLane('cos'),
  sign,
  floor: simd('f32x4.floor'),
  ceil: simd('f32x4.ceil'),
  // Half to even, as kiln_rint.
  round: simd('f32x4.nearest'),
  add: simd(BINARY.add),
  sub: simd(BINARY.sub),
  mul: simd(BINARY.mul),
  div: simd(BINARY.div),
  pow: perLane('pow'),
  maximum: simd(BINARY.max),
  minimum: simd(BINARY.min),
  // f32x4 comparisons are false with a NaN operand, except ne, as the JS templates.
  eq: simd('f32x4.eq'),
  ne: simd('f32x4.ne'),
  lt: simd('f32x4.lt'),
  le: simd('f32x4.le'),
  gt: simd('f32x4.gt'),
  ge: simd('f32x4.ge'),
  where: (c, [cond, a, b]) => c.get(a!).get(b!).get(cond!).op('v128.bitselect'),
  cast: (c, [a]) => c.get(a!),
};

/** Math on lane masks. */
const BOOL: Partial<Record<ElementwiseOp, Spell>> = {
  logicalNot: simd('v128.not'),
  logicalAnd: simd('v128.and'),
  logicalOr: simd('v128.or'),
  eq: simd('i32x4.eq'),
  ne: simd('i32x4.ne'),
  where: FLOAT.where!,
  cast: FLOAT.cast!,
};

const MATH: Partial<Record<DType, Partial<Record<ElementwiseOp, Spell>>>> = { float32: FLOAT, bool: BOOL };

function vectorType(dtype: DType): void {
  if (dtype === 'int32') throw new NoWasmForm('int32 values');
}

export class WasmExprEmitter {
  private readonly locals = new Map<string, number>();

  constructor(
    private readonly c: FunctionBuilder,
    private readonly scope: WasmExprScope,
  ) {}

  /** Pushes the value of `e`, converted to `as`. */
  push(e: Expr, as: DType = e.dtype): void {
    this.c.get(this.value(e, as));
  }

  /** The v128 local holding the value of `e`, converted to `as`. */
  value(e: Expr, as: DType = e.dtype): number {
    vectorType(as);
    if (e.kind === 'const') {
      // Spelled in the dtype it is used as, as codegen/emit-expr does.
      const v = castScalar(e.value, e.dtype, as);
      if (as === 'bool') this.c.i32x4(v ? -1 : 0);
      else this.c.f32x4(v);
      return this.fresh();
    }
    const key = keyOf(e);
    let local = this.locals.get(key);
    if (local === undefined) {
      vectorType(e.dtype);
      this.spell(e);
      local = this.fresh();
      this.locals.set(key, local);
    }
    return this.convert(local, e.dtype, as);
  }

  /** A new local, set from the top of the stack. */
  private fresh(): number {
    const local = this.c.local('v128');
    this.c.set(local);
    return local;
  }

  private convert(local: number, from: DType, to: DType): number {
    if (from === to) return local;
    // bool -> float32 is 0 or 1; float32 -> bool is x != 0 (true for NaN), as jsConvert.
    if (from === 'bool') this.c.get(local).f32x4(1).op('v128.and');
    else this.c.get(local).f32x4(0).op('f32x4.ne');
    return this.fresh();
  }

  private spell(e: Expr): void {
    switch (e.kind) {
      case 'load':
      case 'reload':
        if (e.dtype !== 'float32') throw new NoWasmForm(`${e.dtype} loads`);
        this.scope.load(e);
        return;
      case 'less':
        this.scope.less(e.a, e.b);
        return;
      case 'acc': {
        const acc = this.scope.acc?.(e.id);
        if (acc === undefined) throw new Error('an accumulator outside a row kernel');
        this.c.get(acc);
        return;
      }
      case 'call': {
        const spell = MATH[e.types.operand]?.[e.op];
        if (!spell) throw new NoWasmForm(`${e.op} on ${e.types.operand} has no vector form`);
        const args = e.args.map((a, k) => this.value(a, e.types.compute[k]));
        spell(this.c, args);
        this.c.get(this.convert(this.fresh(), e.types.result, e.types.out));
        return;
      }
      default:
        throw new NoWasmForm(`${e.kind} expressions`);
    }
  }
}
