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

/** A value of dtype `from` converted to dtype `to` (PyTorch cast rules). */
export function convert(expr: string, from: WgslDType, to: WgslDType): string {
  if (from === to) return expr;
  if (to === 'bool') return `(${expr} != ${from === 'float32' ? '0.0' : '0'})`;
  if (from === 'bool') return `select(${to === 'float32' ? '0.0, 1.0' : '0, 1'}, ${expr})`;
  return `${VALUE_TYPE[to]}(${expr})`;
}

/** A WGSL literal of dtype `dtype`. */
export function literal(value: number | boolean, dtype: WgslDType): string {
  if (dtype === 'bool') return value ? 'true' : 'false';
  const n = Number(value);
  if (dtype === 'int32') return `i32(${n | 0})`;
  if (Number.isNaN(n)) return 'bitcast<f32>(special_bits[0])';
  if (n === Infinity) return 'bitcast<f32>(special_bits[1])';
  if (n === -Infinity) return 'bitcast<f32>(special_bits[2])';
  const text = Object.is(n, -0) ? '-0.0' : String(Math.fround(n));
  return /[.e]/.test(text) ? `f32(${text})` : `f32(${text}.0)`;
}

/**
 * WGSL rejects NaN and infinities in constant expressions, so `literal`
 * spells them as bitcasts of a module-scope (non-constant) array; and
 * implementations may assume no NaN in float math (lavapipe folds `v != v`
 * to false), so NaN tests look at the bits. Every kernel includes these.
 */
export const SPECIAL_FLOATS = `var<private> special_bits: array<u32, 3> = array<u32, 3>(0x7fc00000u, 0x7f800000u, 0xff800000u);
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }`;
