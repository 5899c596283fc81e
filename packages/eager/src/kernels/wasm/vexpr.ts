/**
 * Elementwise expressions as the wasm kernels take them: a tree over the
 * kernel's inputs, emitted as f32x4 code (four elements at once). The
 * scalar tails of the kernels reuse the same code on a splatted element,
 * so each function has one implementation.
 */
import type { FunctionBuilder } from './function-builder';
import type { SimdOp } from './opcodes';
import { emitErf, emitExp, emitLog, emitSigmoid, emitTanh } from './vector-math';

export type UnaryFn = 'neg' | 'abs' | 'sqrt' | 'relu' | 'exp' | 'log' | 'tanh' | 'erf' | 'sigmoid';
export type BinaryFn = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';

export type VExpr =
  | { kind: 'input'; index: number }
  | { kind: 'const'; value: number }
  | { kind: 'unary'; fn: UnaryFn; arg: VExpr }
  | { kind: 'binary'; fn: BinaryFn; lhs: VExpr; rhs: VExpr };

export const UNARY: Record<UnaryFn, (c: FunctionBuilder) => void> = {
  neg: (c) => c.op('f32x4.neg'),
  abs: (c) => c.op('f32x4.abs'),
  sqrt: (c) => c.op('f32x4.sqrt'),
  // max, not pmax: relu(NaN) is NaN.
  relu: (c) => c.f32x4(0).op('f32x4.max'),
  exp: emitExp,
  log: emitLog,
  tanh: emitTanh,
  erf: emitErf,
  sigmoid: emitSigmoid,
};

// min/max (not pmin/pmax): NaN propagates, as torch.minimum/maximum.
export const BINARY: Record<BinaryFn, SimdOp> = {
  add: 'f32x4.add',
  sub: 'f32x4.sub',
  mul: 'f32x4.mul',
  div: 'f32x4.div',
  max: 'f32x4.max',
  min: 'f32x4.min',
};

/** Pushes the expression's f32x4 value; `loadInput(i)` pushes four elements of input i. */
export function emitVExpr(c: FunctionBuilder, e: VExpr, loadInput: (index: number) => void): void {
  switch (e.kind) {
    case 'input':
      loadInput(e.index);
      return;
    case 'const':
      c.f32x4(e.value);
      return;
    case 'unary':
      emitVExpr(c, e.arg, loadInput);
      UNARY[e.fn](c);
      return;
    case 'binary':
      emitVExpr(c, e.lhs, loadInput);
      emitVExpr(c, e.rhs, loadInput);
      c.op(BINARY[e.fn]);
  }
}

/** The number of inputs the expression reads (one more than its highest input index). */
export function arity(e: VExpr): number {
  switch (e.kind) {
    case 'input':
      return e.index + 1;
    case 'const':
      return 0;
    case 'unary':
      return arity(e.arg);
    case 'binary':
      return Math.max(arity(e.lhs), arity(e.rhs));
  }
}

/** Builders, so expressions read as code: `bin('mul', input(0), un('exp', input(1)))`. */
export const input = (index: number): VExpr => ({ kind: 'input', index });
export const constant = (value: number): VExpr => ({ kind: 'const', value });
export const un = (fn: UnaryFn, arg: VExpr): VExpr => ({ kind: 'unary', fn, arg });
export const bin = (fn: BinaryFn, lhs: VExpr, rhs: VExpr): VExpr => ({ kind: 'binary', fn, lhs, rhs });

/** gelu(x) = x/2 · (1 + erf(x/√2)), the exact (erf) form. */
export const geluErf = (x: VExpr): VExpr =>
  bin('mul', bin('mul', x, constant(0.5)), bin('add', constant(1), un('erf', bin('mul', x, constant(Math.SQRT1_2)))));
