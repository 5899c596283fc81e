/**
 * The opcodes the kernels use, by their text-format names. Only the few
 * dozen instructions our kernels need are listed; adding one is a line here.
 */

/** Instructions without immediates, one byte each. */
export const PLAIN_OPS = {
  unreachable: 0x00,
  return: 0x0f,
  drop: 0x1a,
  select: 0x1b,
  'i32.eqz': 0x45,
  'i32.eq': 0x46,
  'i32.ne': 0x47,
  'i32.lt_s': 0x48,
  'i32.lt_u': 0x49,
  'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c,
  'i32.le_u': 0x4d,
  'i32.ge_s': 0x4e,
  'i32.ge_u': 0x4f,
  'f32.eq': 0x5b,
  'f32.ne': 0x5c,
  'f32.lt': 0x5d,
  'f32.gt': 0x5e,
  'f32.le': 0x5f,
  'f32.ge': 0x60,
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.mul': 0x6c,
  'i32.div_s': 0x6d,
  'i32.div_u': 0x6e,
  'i32.rem_u': 0x70,
  'i32.and': 0x71,
  'i32.or': 0x72,
  'i32.xor': 0x73,
  'i32.shl': 0x74,
  'i32.shr_s': 0x75,
  'i32.shr_u': 0x76,
  'f32.abs': 0x8b,
  'f32.neg': 0x8c,
  'f32.sqrt': 0x91,
  'f32.add': 0x92,
  'f32.sub': 0x93,
  'f32.mul': 0x94,
  'f32.div': 0x95,
  'f32.min': 0x96,
  'f32.max': 0x97,
  'i32.trunc_f32_s': 0xa8,
  'f32.convert_i32_s': 0xb2,
  'i32.reinterpret_f32': 0xbc,
  'f32.reinterpret_i32': 0xbe,
  'f64.promote_f32': 0xbb,
  'f32.demote_f64': 0xb6,
  'f64.add': 0xa0,
} as const;

/** SIMD instructions without immediates: prefix 0xfd, then the sub-opcode as unsigned LEB128. */
export const SIMD_OPS = {
  'f32x4.splat': 0x13,
  'i32x4.splat': 0x11,
  'i32x4.eq': 0x37,
  'i32x4.ne': 0x38,
  'i32x4.lt_s': 0x39,
  'i32x4.gt_s': 0x3b,
  'i32x4.le_s': 0x3d,
  'i32x4.ge_s': 0x3f,
  'f32x4.eq': 0x41,
  'f32x4.ne': 0x42,
  'f32x4.lt': 0x43,
  'f32x4.gt': 0x44,
  'f32x4.le': 0x45,
  'f32x4.ge': 0x46,
  'v128.not': 0x4d,
  'v128.and': 0x4e,
  'v128.andnot': 0x4f,
  'v128.or': 0x50,
  'v128.xor': 0x51,
  'v128.bitselect': 0x52,
  'v128.any_true': 0x53,
  'f32x4.ceil': 0x67,
  'f32x4.floor': 0x68,
  'f32x4.trunc': 0x69,
  'f32x4.nearest': 0x6a,
  'i32x4.all_true': 0xa3,
  'i32x4.shl': 0xab,
  'i32x4.shr_s': 0xac,
  'i32x4.shr_u': 0xad,
  'i32x4.add': 0xae,
  'i32x4.sub': 0xb1,
  'i32x4.mul': 0xb5,
  'i32x4.min_s': 0xb6,
  'i32x4.max_s': 0xb8,
  'f32x4.abs': 0xe0,
  'f32x4.neg': 0xe1,
  'f32x4.sqrt': 0xe3,
  'f32x4.add': 0xe4,
  'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7,
  'f32x4.min': 0xe8,
  'f32x4.max': 0xe9,
  'f32x4.pmin': 0xea,
  'f32x4.pmax': 0xeb,
  // Relaxed SIMD: a·b + c, fused (one rounding) where the CPU has FMA, else a product and a sum.
  'f32x4.relaxed_madd': 0x105,
  'i32x4.trunc_sat_f32x4_s': 0xf8,
  'f32x4.convert_i32x4_s': 0xfa,
  'f64x2.splat': 0x14,
  'f64x2.promote_low_f32x4': 0x5f,
  'i8x16.swizzle': 0x0e,
  'f64x2.add': 0xf0,
  'f64x2.mul': 0xf2,
} as const;

/** Loads and stores: opcode bytes and natural alignment (log2 bytes), the memarg's default. */
export const MEMORY_OPS = {
  'i32.load': { code: [0x28], align: 2 },
  'f32.load': { code: [0x2a], align: 2 },
  'i32.store': { code: [0x36], align: 2 },
  'f32.store': { code: [0x38], align: 2 },
  'f64.store': { code: [0x39], align: 3 },
  'v128.load': { code: [0xfd, 0x00], align: 4 },
  'v128.load32_splat': { code: [0xfd, 0x09], align: 2 },
  'v128.store': { code: [0xfd, 0x0b], align: 4 },
} as const;

/** Lane instructions: prefix 0xfd, sub-opcode, then a lane index byte. */
export const LANE_OPS = {
  'f64x2.extract_lane': 0x21,
  'i32x4.extract_lane': 0x1b,
  'i32x4.replace_lane': 0x1c,
  'f32x4.extract_lane': 0x1f,
  'f32x4.replace_lane': 0x20,
} as const;

export type PlainOp = keyof typeof PLAIN_OPS;
export type SimdOp = keyof typeof SIMD_OPS;
export type MemoryOp = keyof typeof MEMORY_OPS;
export type LaneOp = keyof typeof LANE_OPS;

/** Value types, with their binary codes. */
export const VAL_TYPES = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = keyof typeof VAL_TYPES;
