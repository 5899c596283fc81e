/**
 * Element types and PyTorch's type promotion.
 *
 * There is one dtype per category (bool < int32 < float32), so promotion is
 * "the highest category wins", for tensors and JS scalars alike.
 */

/**
 * Element type of a tensor. `bool` is stored as one byte per element (0 or 1)
 * on cpu and as one u32 per element on webgpu.
 */
export type DType = 'float32' | 'int32' | 'bool';

/** The typed array that holds each dtype on the cpu (and that readback returns). */
export interface TypedArrayOf {
  float32: Float32Array;
  int32: Int32Array;
  bool: Uint8Array;
}
export type TypedArray = TypedArrayOf[DType];

/** A JS value accepted where a tensor operand is expected (broadcast like a 0-d tensor). */
export type Scalar = number | boolean;

export const DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];

const ARRAY: {
  [D in DType]: {
    new (n: number): TypedArrayOf[D];
    new (buffer: ArrayBufferLike, at: number, n: number): TypedArrayOf[D];
    BYTES_PER_ELEMENT: number;
  };
} = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint8Array,
};

/** A zero-filled typed array of `n` elements of `dtype`. */
export function allocArray<D extends DType>(dtype: D, n: number): TypedArrayOf[D] {
  return new ARRAY[dtype](n);
}

/** A typed array of `dtype` over `n` elements of existing memory from byte `at`. */
export function viewArray<D extends DType>(dtype: D, buffer: ArrayBufferLike, at: number, n: number): TypedArrayOf[D] {
  return new ARRAY[dtype](buffer, at, n);
}

/** Bytes per element of a cpu storage's typed array (bool in one byte). */
export const hostElementBytes = (dtype: DType): number => ARRAY[dtype].BYTES_PER_ELEMENT;

/** The dtype whose typed array `a` is (Uint8Array is bool). */
export function dtypeOfArray(a: TypedArray): DType {
  return a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'bool';
}

const CATEGORY: Record<DType, number> = { bool: 0, int32: 1, float32: 2 };

/** PyTorch's promotion between two dtypes: the higher category wins. */
export function promoteTypes(a: DType, b: DType): DType {
  return CATEGORY[a] >= CATEGORY[b] ? a : b;
}

/** Whether a value of dtype `from` may be written into a tensor of dtype `to` by an in-place op. */
export function canCast(from: DType, to: DType): boolean {
  return CATEGORY[from] <= CATEGORY[to];
}

/**
 * The dtype a JS scalar takes part in promotion as: booleans are bool,
 * integral numbers inside the int32 range are int32 (but -0), anything else float32.
 * JS cannot tell `2.0` from `2`, so `intTensor.mul(2.0)` stays int32 (use
 * `cast` first); integers outside int32 count as float so they never wrap.
 */
export function scalarDtype(s: Scalar): DType {
  if (typeof s === 'boolean') return 'bool';
  // -0 is a float: as an int it would be 0 and lose its sign (x * -0 is -0 for positive x).
  return Number.isInteger(s) && !Object.is(s, -0) && s >= -2147483648 && s <= 2147483647 ? 'int32' : 'float32';
}

/**
 * A JS scalar of dtype `from` converted to `to` by kiln's cast rules, as the
 * kernels convert (float to int32: toward zero, saturating, NaN to 0; to
 * bool: x != 0, NaN included).
 */
export function castScalar(value: number, from: DType, to: DType): number {
  if (from === to || to === 'float32') return to === 'float32' ? Math.fround(value) : value;
  if (to === 'bool') return value !== 0 ? 1 : 0;
  if (from === 'bool') return value;
  return Number.isNaN(value) ? 0 : Math.trunc(Math.min(Math.max(value, -2147483648), 2147483647));
}

/** Promotion over any mix of dtypes (of tensors and scalars). */
export function resultType(dtypes: readonly DType[]): DType {
  return dtypes.reduce(promoteTypes, 'bool');
}

export function isFloat(d: DType): boolean {
  return d === 'float32';
}
