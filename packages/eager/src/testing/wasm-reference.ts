/**
 * For the wasm target's tests: float64 references independent of the wasm
 * code (Math.* and a series for erf), seeded inputs and the tolerance
 * check the kernels are held to.
 */

import type { BinaryFn, UnaryFn, VExpr } from '../kernels/wasm/vexpr';
import { philoxFill } from '../random';

/** erf in float64: Maclaurin series to |x| < 4 (1e-11 relative), ±1 beyond (erfc(4) < 2^-25, so float32 rounds to 1). */
export function erf64(x: number): number {
  if (Number.isNaN(x) || x === 0) return x;
  if (Math.abs(x) >= 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let k = 1; k < 100; k++) {
    term *= (-x * x) / k;
    const add = term / (2 * k + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export const UNARY64: Record<UnaryFn, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sqrt: Math.sqrt,
  relu: (x) => Math.max(x, 0),
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  erf: erf64,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

const BINARY64: Record<BinaryFn, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: Math.max,
  min: Math.min,
};

/** The expression in float64 (no intermediate rounding). */
export function evalVExpr64(e: VExpr, inputs: (index: number) => number): number {
  switch (e.kind) {
    case 'input':
      return inputs(e.index);
    case 'const':
      return e.value;
    case 'unary':
      return UNARY64[e.fn](evalVExpr64(e.arg, inputs));
    case 'binary':
      return BINARY64[e.fn](evalVExpr64(e.lhs, inputs), evalVExpr64(e.rhs, inputs));
  }
}

/** n normal samples times `scale`, seeded (eager's Philox stream), as float32. */
export function seededNormals(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  philoxFill(out, 'normal', seed, 0);
  return out.map((x) => x * scale);
}

/**
 * Where `got` is not within `atol + rtol·|want|` of `want` (NaN must meet
 * NaN and infinities their own sign), described, at most `limit` of them.
 */
export function mismatches(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, limit = 10): string[] {
  const bad: string[] = [];
  if (got.length !== want.length) return [`length ${got.length} != ${want.length}`];
  for (let i = 0; i < got.length && bad.length < limit; i++) {
    const [g, w] = [got[i]!, want[i]!];
    const ok = Number.isFinite(w) ? Math.abs(g - w) <= atol + rtol * Math.abs(w) : Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));
    if (!ok) bad.push(`[${i}] got ${g} want ${w}`);
  }
  return bad;
}
