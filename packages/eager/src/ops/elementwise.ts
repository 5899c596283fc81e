/**
 * Elementwise ops as expression templates. Each op's math is written once per
 * target language as a tiny template; the cpu kernels, the webgpu kernels and
 * the compiler's fused kernels are all generated from these, so adding an op
 * here adds it everywhere.
 *
 * Template contract: arguments are atoms (names or parenthesized
 * expressions) already converted to the op's compute dtypes, and a template
 * returns an atom. Value conventions:
 * - JS: every value is a number; bool is 0 or 1; int32 values stay inside the
 *   int32 range (templates wrap with `| 0` / `Math.imul`, so fused chains of
 *   int ops wrap like int32 hardware does).
 * - WGSL: values have the VALUE type of their dtype (f32, i32, bool); i32
 *   arithmetic wraps.
 * Helper functions (erf, half-to-even rounding, integer pow) are named
 * `kiln_*` in both languages; `helpersFor` finds the ones a body calls.
 */

import { KilnError } from '@kiln/gpu-runtime';
import type { DType } from '../dtype';
import { resultType } from '../dtype';
import {
  ERF_SERIES,
  ERF_SERIES_BELOW,
  ERFC_POLY,
  hornerText,
  LN2_HI,
  LN2_LO,
  LOG_POLY,
  TANH_POLY,
  TANH_POLY_BELOW,
} from './approximations';

/** The op names are the tables' keys: adding an op is adding its row. */
export type UnaryOp = keyof typeof UNARY;
export type BinaryOp = keyof typeof BINARY;
export type ElementwiseOp = UnaryOp | BinaryOp | 'where' | 'cast';

/**
 * How an op's dtypes follow from its inputs (PyTorch's rules):
 * - arith: math and result in the promoted dtype. All-bool inputs compute in
 *   int32 and the result is stored back as bool (add = or, mul = and).
 * - float: math and result in float32 (exp, div, ... of ints give floats;
 *   `div` is true division: int / 0 gives ±inf or NaN as in PyTorch).
 * - compare: math in the promoted dtype, result bool.
 * - logical: inputs read as truthiness (x != 0), math and result bool.
 * - where: condition bool, branches promoted.
 * - cast: math in the input dtype, converted to `attrs.dtype` on store
 *   (float to int truncates toward zero; x to bool is x != 0).
 */
export type TypeRule = 'arith' | 'float' | 'compare' | 'logical' | 'where' | 'cast';

/** Renders the math on operands of dtype `dt` (`ElementwiseTypes.operand`). */
export type Render = (args: readonly string[], dt: DType) => string;

export interface ElementwiseSpec {
  readonly arity: 1 | 2 | 3;
  readonly type: TypeRule;
  readonly js: Render;
  readonly wgsl: Render;
  /** Rejects all-bool inputs, as PyTorch does for `sub` and `neg`. */
  readonly noBool?: boolean;
}

/** int32 and float32 spellings of the same op (arith ops never compute in bool). */
const byType =
  (int: Render, float: Render): Render =>
  (a, dt) =>
    dt === 'float32' ? float(a, dt) : int(a, dt);
const same =
  (f: (...a: string[]) => string): Render =>
  (a) =>
    f(...a);

const unary = (type: TypeRule, js: Render, wgsl: Render, noBool = false): ElementwiseSpec => ({ arity: 1, type, js, wgsl, noBool });
const binary = (type: TypeRule, js: Render, wgsl: Render, noBool = false): ElementwiseSpec => ({ arity: 2, type, js, wgsl, noBool });
/** Float-only math that is a plain function call in both languages. */
const call = (js: string, wgsl: string) =>
  unary(
    'float',
    same((a) => `${js}(${a})`),
    same((a) => `${wgsl}(${a})`),
  );
/** Rounding ops: identity on integers. */
const rounding = (js: string, wgsl: string) =>
  unary(
    'arith',
    byType(
      same((a) => a),
      same((a) => `${js}(${a})`),
    ),
    byType(
      same((a) => a),
      same((a) => `${wgsl}(${a})`),
    ),
  );
/**
 * Comparisons: false with a NaN operand, except `ne` (true). WGSL may assume
 * no NaN, so float comparisons test for it through the bits (../wgsl).
 */
const compare = (js: string, wgsl: string): ElementwiseSpec =>
  binary(
    'compare',
    same((a, b) => `+(${a} ${js} ${b})`),
    (args, dt) => {
      const [a, b] = args as [string, string];
      // WGSL orders no bools: compare them as 0 and 1.
      if (dt === 'bool') return `(i32(${a}) ${wgsl} i32(${b}))`;
      if (dt !== 'float32') return `(${a} ${wgsl} ${b})`;
      return wgsl === '!=' ? `(${a} != ${b} || is_nan(${a}) || is_nan(${b}))` : `(${a} ${wgsl} ${b} && !is_nan(${a}) && !is_nan(${b}))`;
    },
  );
/** Float math whose WGSL builtin drops NaN (max, min, sign): NaN operands give NaN, as in JS and PyTorch. */
const nanFirst =
  (wgsl: (...a: string[]) => string): Render =>
  (a) =>
    a.reduceRight((value, x) => `select(${value}, ${x}, is_nan(${x}))`, wgsl(...a));

/**
 * WGSL's float max and min of equal operands may give either (lavapipe gives
 * the second: min(-0, 0) = 0); JS, WebAssembly and IEEE 754-2019 order -0
 * below +0. Equal operands combine their bits instead: OR keeps a -0 (min),
 * AND a +0 (max), and equal nonzero values are the same bits.
 */
const signedZeros = (fn: 'max' | 'min', bits: '&' | '|', a: string, b: string) =>
  `select(${fn}(${a}, ${b}), bitcast<f32>(bitcast<u32>(${a}) ${bits} bitcast<u32>(${b})), ${a} == ${b})`;

export const UNARY = {
  neg: unary(
    'arith',
    byType(
      same((a) => `((-${a}) | 0)`),
      same((a) => `(-${a})`),
    ),
    same((a) => `(-${a})`),
    true,
  ),
  abs: unary(
    'arith',
    byType(
      same((a) => `(Math.abs(${a}) | 0)`),
      same((a) => `Math.abs(${a})`),
    ),
    same((a) => `abs(${a})`),
  ),
  exp: call('Math.exp', 'exp'),
  log: call('Math.log', 'kiln_log'),
  sqrt: call('Math.sqrt', 'sqrt'),
  rsqrt: unary(
    'float',
    same((a) => `(1 / Math.sqrt(${a}))`),
    same((a) => `inverseSqrt(${a})`),
  ),
  sin: call('Math.sin', 'sin'),
  cos: call('Math.cos', 'cos'),
  tanh: call('Math.tanh', 'kiln_tanh'),
  sigmoid: unary(
    'float',
    same((a) => `(1 / (1 + Math.exp(-${a})))`),
    same((a) => `(1.0 / (1.0 + exp(-${a})))`),
  ),
  // Math.max keeps NaN, as PyTorch's relu does.
  relu: unary(
    'arith',
    same((a) => `Math.max(${a}, 0)`),
    byType(
      same((a) => `max(${a}, 0)`),
      nanFirst((a) => `max(${a}, 0.0)`),
    ),
  ),
  erf: call('kiln_erf', 'kiln_erf'),
  square: unary(
    'arith',
    byType(
      same((a) => `Math.imul(${a}, ${a})`),
      same((a) => `(${a} * ${a})`),
    ),
    same((a) => `(${a} * ${a})`),
  ),
  reciprocal: unary(
    'float',
    same((a) => `(1 / ${a})`),
    same((a) => `(1.0 / ${a})`),
  ),
  floor: rounding('Math.floor', 'floor'),
  ceil: rounding('Math.ceil', 'ceil'),
  // Half to even, like PyTorch (and WGSL's round); Math.round rounds half up.
  round: rounding('kiln_rint', 'round'),
  sign: unary(
    'arith',
    same((a) => `Math.sign(${a})`),
    byType(
      same((a) => `sign(${a})`),
      // ±0 keeps its sign, as Math.sign (lavapipe's sign(-0) is +0).
      nanFirst((a) => `select(sign(${a}), ${a}, ${a} == 0.0)`),
    ),
  ),
  logicalNot: unary(
    'logical',
    same((a) => `(${a} ^ 1)`),
    same((a) => `(!${a})`),
  ),
} satisfies Record<string, ElementwiseSpec>;

export const BINARY = {
  add: binary(
    'arith',
    byType(
      same((a, b) => `((${a} + ${b}) | 0)`),
      same((a, b) => `(${a} + ${b})`),
    ),
    same((a, b) => `(${a} + ${b})`),
  ),
  sub: binary(
    'arith',
    byType(
      same((a, b) => `((${a} - ${b}) | 0)`),
      same((a, b) => `(${a} - ${b})`),
    ),
    same((a, b) => `(${a} - ${b})`),
    true,
  ),
  mul: binary(
    'arith',
    byType(
      same((a, b) => `Math.imul(${a}, ${b})`),
      same((a, b) => `(${a} * ${b})`),
    ),
    same((a, b) => `(${a} * ${b})`),
  ),
  div: binary(
    'float',
    same((a, b) => `(${a} / ${b})`),
    same((a, b) => `(${a} / ${b})`),
  ),
  // Integer pow wraps; a negative exponent gives 0 except for bases 1 and -1 (PyTorch's tensor rule).
  pow: binary(
    'arith',
    byType(
      same((a, b) => `kiln_ipow(${a}, ${b})`),
      same((a, b) => `kiln_pow(${a}, ${b})`),
    ),
    byType(
      same((a, b) => `kiln_ipow(${a}, ${b})`),
      same((a, b) => `kiln_pow(${a}, ${b})`),
    ),
  ),
  maximum: binary(
    'arith',
    same((a, b) => `Math.max(${a}, ${b})`),
    byType(
      same((a, b) => `max(${a}, ${b})`),
      nanFirst((a, b) => signedZeros('max', '&', a, b)),
    ),
  ),
  minimum: binary(
    'arith',
    same((a, b) => `Math.min(${a}, ${b})`),
    byType(
      same((a, b) => `min(${a}, ${b})`),
      nanFirst((a, b) => signedZeros('min', '|', a, b)),
    ),
  ),
  eq: compare('===', '=='),
  ne: compare('!==', '!='),
  lt: compare('<', '<'),
  le: compare('<=', '<='),
  gt: compare('>', '>'),
  ge: compare('>=', '>='),
  logicalAnd: binary(
    'logical',
    same((a, b) => `(${a} & ${b})`),
    same((a, b) => `(${a} && ${b})`),
  ),
  logicalOr: binary(
    'logical',
    same((a, b) => `(${a} | ${b})`),
    same((a, b) => `(${a} || ${b})`),
  ),
} satisfies Record<string, ElementwiseSpec>;

export const ELEMENTWISE: Record<ElementwiseOp, ElementwiseSpec> = {
  ...UNARY,
  ...BINARY,
  where: { arity: 3, type: 'where', js: same((c, a, b) => `(${c} ? ${a} : ${b})`), wgsl: same((c, a, b) => `select(${b}, ${a}, ${c})`) },
  cast: unary(
    'cast',
    same((a) => a),
    same((a) => a),
  ),
};

/** The dtypes of one elementwise call, as the kernels need them. */
export interface ElementwiseTypes {
  /** The dtype each operand is converted to before the template reads it. */
  readonly compute: readonly DType[];
  /** The dtype of the template's value (converted to `out` on store). */
  readonly result: DType;
  /** The dtype the template's math runs on: its operands' (for where, its branches'; bool for a comparison's result). */
  readonly operand: DType;
  /** The dtype of the output tensor. */
  readonly out: DType;
}

/** dtypes of `op` applied to operands of `dtypes`; `castTo` is cast's target. Throws for bool where the op refuses it. */
export function elementwiseTypes(op: ElementwiseOp, dtypes: readonly DType[], castTo?: DType): ElementwiseTypes {
  const spec = ELEMENTWISE[op];
  const all = (d: DType) => dtypes.map(() => d);
  switch (spec.type) {
    case 'arith': {
      const p = resultType(dtypes);
      if (p === 'bool' && spec.noBool) {
        throw new KilnError('is not supported on bool tensors (use logicalNot / logicalAnd / cast)', { op });
      }
      const math = p === 'bool' ? 'int32' : p;
      return { compute: all(math), result: math, operand: math, out: p };
    }
    case 'float':
      return { compute: all('float32'), result: 'float32', operand: 'float32', out: 'float32' };
    case 'compare': {
      const p = resultType(dtypes);
      return { compute: all(p), result: 'bool', operand: p, out: 'bool' };
    }
    case 'logical':
      return { compute: all('bool'), result: 'bool', operand: 'bool', out: 'bool' };
    case 'where': {
      const p = resultType(dtypes.slice(1));
      return { compute: ['bool', p, p], result: p, operand: p, out: p };
    }
    case 'cast':
      return { compute: [dtypes[0]], result: dtypes[0], operand: dtypes[0], out: castTo ?? dtypes[0] };
  }
}

/**
 * A value of dtype `from` as dtype `to`, in JS (see the value conventions
 * above). Float to int32 truncates toward zero, saturates at the int32 range
 * and maps NaN to 0 (`kiln_f2i`, as on webgpu); anything to bool is x != 0
 * (NaN is true).
 */
export function jsConvert(expr: string, from: DType, to: DType): string {
  if (from === to || from === 'bool') return expr;
  // An int32 above 2^24 is not a float32: round it as WGSL's f32() and the wasm target do.
  if (to === 'float32') return `Math.fround(${expr})`;
  if (to === 'bool') return `+(${expr} !== 0)`;
  return from === 'float32' ? `kiln_f2i(${expr})` : `(${expr} | 0)`;
}

/**
 * A WGSL odd function computed on a = |x| (s = a²): `lines` define y = f(a),
 * and the sign is copied back; ±0 and NaN give x itself.
 */
const oddWgsl = (name: string, lines: readonly string[]) => `fn ${name}(x: f32) -> f32 {
  let a = abs(x);
  let s = a * a;
${lines.map((l) => `  ${l}`).join('\n')}
  return select(select(x, y, x > 0.0), -y, x < 0.0);
}`;

type Helper = { readonly js: string; readonly wgsl: string };

/** Functions templates may call, in both languages. */
export const HELPERS: Record<string, Helper> = {
  // ./approximations: its series near 0, 1 - erfc beyond (relative error ~1e-7 everywhere); the same formula on every device.
  kiln_erf: {
    js: `function kiln_erf(x) {
  const a = Math.abs(x);
  const s = a * a;
  const t = 1 / (1 + 0.5 * a);
  const y = a < ${ERF_SERIES_BELOW} ? a * ${hornerText(ERF_SERIES, 's')} : 1 - t * Math.exp(${hornerText(ERFC_POLY, 't')} - s);
  return x < 0 ? -y : x > 0 ? y : x;
}`,
    wgsl: oddWgsl('kiln_erf', [
      'let t = 1.0 / (1.0 + 0.5 * a);',
      `let y = select(1.0 - t * exp(${hornerText(ERFC_POLY, 't')} - s), a * ${hornerText(ERF_SERIES, 's')}, a < ${ERF_SERIES_BELOW});`,
    ]),
  },
  // ./approximations: a polynomial near 0, where WGSL's tanh is accurate only in absolute terms (JS's Math.tanh is exact enough).
  kiln_tanh: {
    js: '',
    wgsl: oddWgsl('kiln_tanh', [
      `let y = select(1.0 - 2.0 / (exp(2.0 * a) + 1.0), a + a * s * ${hornerText(TANH_POLY, 's')}, a < ${TANH_POLY_BELOW});`,
    ]),
  },
  // ./approximations: Cephes' logf, accurate relative to the value near x = 1, where WGSL's log is accurate only in absolute terms.
  kiln_log: {
    js: '',
    wgsl: `fn kiln_log(x: f32) -> f32 {
  let parts = frexp(x);
  let low = parts.fract < ${Math.SQRT1_2};
  let f = select(parts.fract, 2.0 * parts.fract, low) - 1.0;
  let e = f32(parts.exp - select(0, 1, low));
  let z = f * f;
  let y = f * z * ${hornerText(LOG_POLY, 'f')} + e * ${LN2_LO} - 0.5 * z + f + e * ${LN2_HI};
  let specials = select(select(y, kiln_f32(0x7f800000u), x == kiln_f32(0x7f800000u)), kiln_f32(0xff800000u), x == 0.0);
  return select(specials, kiln_f32(0x7fc00000u), x < 0.0 || is_nan(x));
}`,
  },
  kiln_f2i: {
    js: `function kiln_f2i(x) {
  return x !== x ? 0 : x >= 2147483647 ? 2147483647 : x <= -2147483648 ? -2147483648 : x | 0;
}`,
    wgsl: '', // in every kernel's prelude (../wgsl FLOAT_PRELUDE): conversions use it
  },
  kiln_rint: {
    js: `function kiln_rint(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}`,
    wgsl: '',
  },
  kiln_ipow: {
    js: `function kiln_ipow(a, b) {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b & 1 ? -1 : 1) : 0;
  let r = 1;
  while (b > 0) {
    if (b & 1) r = Math.imul(r, a);
    a = Math.imul(a, a);
    b >>>= 1;
  }
  return r;
}`,
    wgsl: `fn kiln_ipow(a0: i32, b0: i32) -> i32 {
  if (b0 < 0) {
    if (a0 == 1) { return 1; }
    if (a0 == -1) { return select(1, -1, (b0 & 1) != 0); }
    return 0;
  }
  var a = a0;
  var b = b0;
  var r = 1;
  loop {
    if (b == 0) { break; }
    if ((b & 1) != 0) { r = r * a; }
    a = a * a;
    b = b >> 1u;
  }
  return r;
}`,
  },
  // C's pow (PyTorch's): pow(x, 0) and pow(1, y) are 1 even for NaN, pow(-1, ±inf) is 1 (JS's Math.pow says NaN
  // for the last two); WGSL's pow is undefined for a negative base and may assume no NaN or inf.
  kiln_pow: {
    js: `function kiln_pow(a, b) {
  return b === 0 || a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b);
}`,
    wgsl: `fn kiln_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0 || a == 1.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return kiln_f32(0x7fc00000u); }
  if (b == 1.0) { return a; } // exp2(log2(a)) can overflow near float32's largest values
  let inf = kiln_f32(0x7f800000u);
  if (abs(b) == inf) {
    if (abs(a) == 1.0) { return 1.0; }
    return select(0.0, inf, (abs(a) > 1.0) == (b > 0.0));
  }
  let integral = b == floor(b);
  let negative = (bitcast<u32>(a) & 0x80000000u) != 0u;
  if (negative && a != 0.0 && abs(a) != inf && !integral) { return kiln_f32(0x7fc00000u); }
  let m = select(pow(abs(a), b), select(inf, 0.0, b > 0.0), a == 0.0);
  let odd = integral && abs(b) < 16777216.0 && (i32(b) & 1) != 0;
  return select(m, -m, negative && odd);
}`,
  },
};

/** Sources of the helpers that `code` calls (and the helpers they call), for the given language. */
export function helpersFor(code: string, lang: keyof Helper): string[] {
  const used = new Set<string>();
  let text = code;
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, h] of Object.entries(HELPERS)) {
      if (h[lang] === '' || used.has(name) || !text.includes(`${name}(`)) continue;
      used.add(name);
      text += h[lang];
      grew = true;
    }
  }
  return [...used].map((name) => HELPERS[name]![lang]);
}
