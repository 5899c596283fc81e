/**
 * Vectorized transcendental functions as emitter helpers: each takes an
 * f32x4 from the stack and leaves f32x4 `f(x)` lane by lane. Range
 * reduction plus Cephes-style minimax polynomials (Moshier's single
 * precision coefficients), with NaN, ±Inf, ±0 and subnormals handled by
 * explicit lane selects rather than left to the polynomials. Accuracy is
 * a few float32 ulps (vector-math.test.ts measures it over the whole
 * float32 range against float64 Math.*).
 */
import { ERF_SERIES, ERF_SERIES_BELOW, ERFC_POLY, LN2_HI, LN2_LO, LOG_POLY, TANH_POLY, TANH_POLY_BELOW } from '../../ops/approximations';
import type { FunctionBuilder } from './function-builder';

const SIGN_MASK = 0x80000000;

/** Pops an f32x4 into a fresh local. */
function spill(c: FunctionBuilder): number {
  const v = c.local('v128');
  c.set(v);
  return v;
}

/** Pushes the polynomial Σ coeffs[i] · z^(n-1-i) (highest degree first, Horner). */
function horner(c: FunctionBuilder, z: number, coeffs: readonly number[]): void {
  c.f32x4(coeffs[0]!);
  for (const k of coeffs.slice(1)) c.get(z).op('f32x4.mul').f32x4(k).op('f32x4.add');
}

/** Pushes 2^n for the i32x4 local `n` with -126 <= n <= 127: the exponent field built from the bits. */
function pow2(c: FunctionBuilder, n: number): void {
  c.get(n).i32x4(127).op('i32x4.add').i32(23).op('i32x4.shl');
}

/** For odd functions: pops x into a local, with |x| and x² in two more. */
function spillAbsSquare(c: FunctionBuilder): { x: number; a: number; s: number } {
  const x = spill(c);
  const a = c.local('v128');
  const s = c.local('v128');
  c.get(x).op('f32x4.abs').tee(a).get(a).op('f32x4.mul').set(s);
  return { x, a, s };
}

/** Replaces the f32x4 on the stack by the same magnitudes with the signs of local `x` (odd functions, and -0 kept). */
function copySignOf(c: FunctionBuilder, x: number): void {
  c.get(x).i32x4(SIGN_MASK).op('v128.and').op('v128.or');
}

/** P of degree 4, fitted for least relative error on |r| <= ln2/2 (3.8e-9 in exact arithmetic, under one float32 ulp). */
const EXP_POLY = [1.381461275741458e-3, 8.368710055947304e-3, 4.166838899254799e-2, 1.666652113199234e-1, 4.999999403953552e-1];

/** 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer, held in the low mantissa bits. */
const ROUND_MAGIC = 12582912;

/**
 * exp(x) = 2^n · e^r, n = round(x / ln 2), |r| <= ln2/2, e^r = 1 + r + r²·P(r).
 * x is clamped to [-104, 89] (beyond it float32 exp is 0 or Inf either way)
 * and 2^n applied as two factors 2^(n>>1) · 2^(n - n>>1), so that results
 * near FLT_MAX do not overflow early and subnormal results round once.
 * n is rounded and converted with the magic-number trick rather than
 * f32x4.nearest and i32x4.trunc_sat (the latter is a long instruction
 * sequence on x86). The clamps are pmin/pmax with x first, which keep a
 * NaN x (and are single instructions, unlike NaN-propagating min/max).
 */
export function emitExp(c: FunctionBuilder): void {
  c.f32x4(89).op('f32x4.pmin').f32x4(-104).op('f32x4.pmax');
  const x = spill(c);
  const t = c.local('v128');
  c.get(x).f32x4(Math.LOG2E).op('f32x4.mul').f32x4(ROUND_MAGIC).op('f32x4.add').tee(t).f32x4(ROUND_MAGIC).op('f32x4.sub');
  const n = spill(c);
  // Cody–Waite: r = x - n·ln2 in two parts, so the reduction keeps float32 accuracy.
  c.get(x).get(n).f32x4(LN2_HI).op('f32x4.mul').op('f32x4.sub').get(n).f32x4(LN2_LO).op('f32x4.mul').op('f32x4.sub');
  const r = spill(c);
  horner(c, r, EXP_POLY);
  c.get(r).get(r).op('f32x4.mul').op('f32x4.mul').get(r).op('f32x4.add').f32x4(1).op('f32x4.add');
  // n as int32: the magic sum's bits minus the magic's bits.
  const ni = c.local('v128');
  const half = c.local('v128');
  c.get(t).i32x4(0x4b400000).op('i32x4.sub').tee(ni).i32(1).op('i32x4.shr_s').set(half);
  pow2(c, half);
  c.op('f32x4.mul');
  c.get(ni).get(half).op('i32x4.sub').set(ni);
  pow2(c, ni);
  c.op('f32x4.mul');
}

const MIN_NORMAL = 2 ** -126;

/**
 * log(x) by ../../ops/approximations (x = m · 2^e, log x = e·ln2 +
 * log1p(m - 1) by a polynomial). Subnormals are scaled by 2^23 first;
 * x <= 0, +Inf and NaN are selected at the end (log(±0) = -Inf, log(<0) = NaN).
 */
export function emitLog(c: FunctionBuilder): void {
  const x = spill(c);
  const tiny = c.local('v128');
  c.get(x).f32x4(MIN_NORMAL).op('f32x4.lt').set(tiny);
  // Scale subnormals to normals (exact), and remember the 23 to take off the exponent.
  c.get(x)
    .f32x4(2 ** 23)
    .op('f32x4.mul')
    .get(x)
    .get(tiny)
    .op('v128.bitselect');
  const bits = spill(c);
  // e from the exponent field, for m in [0.5, 1): biased exponent - 126.
  c.get(bits).i32(23).op('i32x4.shr_u').i32x4(0xff).op('v128.and').i32x4(126).op('i32x4.sub');
  c.get(tiny).i32x4(23).op('v128.and').op('i32x4.sub');
  const e = spill(c);
  c.get(bits).i32x4(0x807fffff).op('v128.and').i32x4(0x3f000000).op('v128.or');
  const m = spill(c);
  // m < √½: use 2m (in [√½, 1)) and e - 1; the mask is -1 (all ones) in those lanes, so adding it subtracts 1.
  const low = c.local('v128');
  c.get(m).f32x4(Math.SQRT1_2).op('f32x4.lt').tee(low).get(e).op('i32x4.add').op('f32x4.convert_i32x4_s').set(e);
  c.get(m).get(m).get(low).op('v128.and').op('f32x4.add').f32x4(1).op('f32x4.sub');
  const f = spill(c);
  const z = c.local('v128');
  c.get(f).get(f).op('f32x4.mul').set(z);
  // log1p(f) = f - z/2 + f·z·P(f), with ln2's low part added before the high part (as Cephes orders it).
  horner(c, f, LOG_POLY);
  c.get(f).op('f32x4.mul').get(z).op('f32x4.mul');
  c.get(e).f32x4(LN2_LO).op('f32x4.mul').op('f32x4.add');
  c.get(z).f32x4(0.5).op('f32x4.mul').op('f32x4.sub');
  c.get(f).op('f32x4.add');
  c.get(e).f32x4(LN2_HI).op('f32x4.mul').op('f32x4.add');
  // Specials, each keeping the value where its mask holds: x > 0 (else NaN: negatives, NaN), x != 0 (else -Inf), x != +Inf.
  c.f32x4(Number.NaN).get(x).f32x4(0).op('f32x4.gt').op('v128.bitselect');
  c.f32x4(Number.NEGATIVE_INFINITY).get(x).f32x4(0).op('f32x4.ne').op('v128.bitselect');
  c.f32x4(Number.POSITIVE_INFINITY).get(x).f32x4(Number.POSITIVE_INFINITY).op('f32x4.ne').op('v128.bitselect');
}

/**
 * tanh(x) on |x| by ../../ops/approximations, sign copied back (so -0 stays
 * -0). Both branches are computed and one is selected per lane.
 */
export function emitTanh(c: FunctionBuilder): void {
  const { x, a, s } = spillAbsSquare(c);
  // Small: a + a·s·P(s).
  horner(c, s, TANH_POLY);
  c.get(s).op('f32x4.mul').get(a).op('f32x4.mul').get(a).op('f32x4.add');
  // Large: 1 - 2 / (exp(2a) + 1).
  c.f32x4(1).f32x4(2).get(a).get(a).op('f32x4.add');
  emitExp(c);
  c.f32x4(1).op('f32x4.add').op('f32x4.div').op('f32x4.sub');
  c.get(a).f32x4(TANH_POLY_BELOW).op('f32x4.lt').op('v128.bitselect');
  copySignOf(c, x);
}

/**
 * sigmoid(x) = 1 / (1 + e^{-|x|}) for x >= 0 and e^{-|x|} / (1 + e^{-|x|})
 * below, so the exponential never overflows and tiny results keep their
 * relative accuracy down into the subnormals.
 */
export function emitSigmoid(c: FunctionBuilder): void {
  const x = spill(c);
  c.get(x).op('f32x4.abs').op('f32x4.neg');
  emitExp(c);
  const e = spill(c);
  c.f32x4(1).f32x4(1).get(e).op('f32x4.add').op('f32x4.div');
  const s = spill(c);
  c.get(s).get(e).get(s).op('f32x4.mul').get(x).f32x4(0).op('f32x4.ge').op('v128.bitselect');
}

/** erf(x) on |x| by ../../ops/approximations (series below 0.5, else 1 - erfc), sign copied back. */
export function emitErf(c: FunctionBuilder): void {
  const { x, a, s } = spillAbsSquare(c);
  horner(c, s, ERF_SERIES);
  c.get(a).op('f32x4.mul');
  const t = c.local('v128');
  c.f32x4(1).f32x4(1).get(a).f32x4(0.5).op('f32x4.mul').op('f32x4.add').op('f32x4.div').set(t);
  c.f32x4(1).get(t);
  horner(c, t, ERFC_POLY);
  c.get(s).op('f32x4.sub');
  emitExp(c);
  c.op('f32x4.mul').op('f32x4.sub');
  c.get(a).f32x4(ERF_SERIES_BELOW).op('f32x4.lt').op('v128.bitselect');
  copySignOf(c, x);
}
