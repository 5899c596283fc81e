/**
 * How kiln's dtypes live in WGSL: bool is stored as u32 (WGSL storage
 * buffers cannot hold bool) and computed as bool; float32 and int32 map to
 * f32 and i32. Shared by the eager kernels and the compiler's renderer.
 */
import type { DType } from './dtype';

export type WgslDType = DType;

export const STORAGE_TYPE: Record<WgslDType, string> = { float32: 'f32', int32: 'i32', bool: 'u32' };
export const VALUE_TYPE: Record<WgslDType, string> = { float32: 'f32', int32: 'i32', bool: 'bool' };

/** A stored element (STORAGE_TYPE) as a value of dtype `to`. */
export function loadAs(expr: string, stored: WgslDType, to: WgslDType): string {
  if (stored === 'bool') return to === 'bool' ? `(${expr} != 0u)` : `${VALUE_TYPE[to]}(${expr})`;
  return convert(expr, stored, to);
}

/** A value of dtype `from` as the element to store for dtype `to`. */
export function storeAs(expr: string, from: WgslDType, to: WgslDType): string {
  if (to === 'bool') return `select(0u, 1u, ${convert(expr, from, 'bool')})`;
  return convert(expr, from, to);
}

/**
 * A value of dtype `from` converted to dtype `to` (PyTorch's cast rules; NaN
 * is true as a bool; float to int32 truncates toward zero, saturates at the
 * int32 range and maps NaN to 0, the same rule as the cpu device's).
 */
export function convert(expr: string, from: WgslDType, to: WgslDType): string {
  if (from === to) return expr;
  if (to === 'bool') return from === 'float32' ? `kiln_f2b(${expr})` : `(${expr} != 0)`;
  if (from === 'bool') return `select(${to === 'float32' ? '0.0, 1.0' : '0, 1'}, ${expr})`;
  return from === 'float32' ? `kiln_f2i(${expr})` : `${VALUE_TYPE[to]}(${expr})`;
}

/** The bits of `value` as a float32 (rounded to it first: beyond its range is ±Infinity). */
export function f32Bits(value: number): number {
  return new Uint32Array(new Float32Array([value]).buffer)[0]!;
}

/**
 * A WGSL literal of dtype `dtype`. Floats are spelled by their float32 bits
 * through `kiln_f32` (see FLOAT_PRELUDE), so NaN, ±Infinity, -0 and values
 * beyond float32's range (which become ±Infinity) all have a spelling, and
 * the shader compiler cannot fold them.
 */
export function literal(value: number | boolean, dtype: WgslDType): string {
  if (dtype === 'bool') return value ? 'true' : 'false';
  const n = Number(value);
  if (dtype === 'int32') return `i32(${n | 0})`;
  const f = Math.fround(n);
  const shown = Number.isNaN(f) ? 'NaN' : Object.is(f, -0) ? '-0' : String(f);
  return `kiln_f32(0x${f32Bits(f).toString(16)}u /* ${shown} */)`;
}

/**
 * Shader compilers may assume that float math sees no NaN, infinity or
 * signed zero (lavapipe folds `v != v` to false, `x * 0.0` and `x - x` to 0,
 * `log(exp(x))` to x, and the sign of a -0.0 literal away), which would
 * make kernels disagree with IEEE 754 and with the cpu device. So kernels:
 * - test NaN through its bits (`is_nan`), and the op templates say what
 *   NaN does instead of leaving it to max, sign or a comparison;
 * - spell float constants as bits XORed with `kiln_zero`, which is 0 when
 *   the kernel runs but unknown to the compiler (`kiln_f32`);
 * - (compiled kernels) pass each float op's result through
 *   `kiln_keep(v, kiln_k<k>)`, an identity the compiler cannot see through
 *   (an XOR with kiln_zero * k), with a distinct k at each use, so no two
 *   results are provably equal and nothing folds across ops, as nothing
 *   does between eager's one-op kernels.
 * Every entry point runs OPAQUE_ZERO_INIT first (the workgroup count is never
 * 0 when a kernel runs), then the `keepMasks` of its body. Float to int32
 * and to bool follow `convert`.
 */
export const FLOAT_PRELUDE = `var<private> kiln_zero: u32;
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn kiln_f32(bits: u32) -> f32 { return bitcast<f32>(bits ^ kiln_zero); }
fn kiln_keep(v: f32, mask: u32) -> f32 { return bitcast<f32>(bitcast<u32>(v) ^ mask); }
fn kiln_f2b(v: f32) -> bool { return v != 0.0 || is_nan(v); }
fn kiln_f2i(v: f32) -> i32 { return select(select(i32(v), 2147483647, v >= 2147483648.0), 0, is_nan(v)); }`;

/** The first statement of every kernel's entry point (which must name `@builtin(num_workgroups) nwg`). */
export const OPAQUE_ZERO_INIT = 'kiln_zero = u32(nwg.x == 0u);';

/** The keep site `k`'s mask, as kernels spell it (declared by `keepMasks`). */
export const keepMask = (k: number) => `kiln_k${k}`;

/**
 * After OPAQUE_ZERO_INIT: the masks of the keep sites `body` uses, computed
 * once a thread (lavapipe hoists nothing out of loops: a mask computed at
 * each use cost W2's softmax about 15% of its time).
 */
export function keepMasks(body: string): string[] {
  const sites = new Set([...body.matchAll(/\bkiln_k(\d+)\b/g)].map((m) => Number(m[1])));
  return [...sites].sort((a, b) => a - b).map((k) => `let ${keepMask(k)} = kiln_zero * ${k}u;`);
}
