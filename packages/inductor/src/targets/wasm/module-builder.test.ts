import { describe, expect, it } from 'vitest';
import { ByteWriter } from './encoding';
import { ModuleBuilder } from './module-builder';
import { compileCached, compiledModuleCount } from './module-cache';
import type { SimdOp } from './opcodes';
import { instantiate, wasmApi } from './wasm-api';

const hex = (w: ByteWriter) => Array.from(w.finish(), (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Builds, validates and instantiates a module over a fresh one-page memory. */
function load(mod: ModuleBuilder) {
  const bytes = mod.toBytes();
  expect(wasmApi.validate(bytes)).toBe(true);
  const memory = new wasmApi.Memory({ initial: 1 });
  const exports = instantiate(new wasmApi.Module(bytes), memory).exports;
  return { exports, f32: new Float32Array(memory.buffer), i32: new Int32Array(memory.buffer) };
}

describe('LEB128', () => {
  it('encodes unsigned values as the spec examples do', () => {
    expect(hex(new ByteWriter().u32(0))).toBe('00');
    expect(hex(new ByteWriter().u32(127))).toBe('7f');
    expect(hex(new ByteWriter().u32(128))).toBe('80 01');
    expect(hex(new ByteWriter().u32(624485))).toBe('e5 8e 26');
    expect(hex(new ByteWriter().u32(0xffffffff))).toBe('ff ff ff ff 0f');
    expect(() => new ByteWriter().u32(-1)).toThrow(RangeError);
  });

  it('encodes signed values with the sign in bit 6 of the last byte', () => {
    expect(hex(new ByteWriter().s32(63))).toBe('3f');
    expect(hex(new ByteWriter().s32(64))).toBe('c0 00');
    expect(hex(new ByteWriter().s32(-64))).toBe('40');
    expect(hex(new ByteWriter().s32(-65))).toBe('bf 7f');
    expect(hex(new ByteWriter().s32(-123456))).toBe('c0 bb 78');
    expect(hex(new ByteWriter().s32(0x7f800000))).toBe(hex(new ByteWriter().s32(2139095040)));
    // 2^32 - 1 is int32 -1 (bit patterns such as 0xffffffff masks).
    expect(hex(new ByteWriter().s32(0xffffffff))).toBe('7f');
  });
});

describe('module builder', () => {
  it('rejects what the engine rejects: a type error does not validate', () => {
    const mod = new ModuleBuilder();
    const fn = mod.func([], ['i32'], 'bad');
    fn.f32(1); // an f32 where the signature promises i32
    expect(wasmApi.validate(mod.toBytes())).toBe(false);
  });

  it('runs scalar i32/f32 code with locals, loops and calls: the sum of squares of n floats', () => {
    const mod = new ModuleBuilder();
    const square = mod.func(['f32'], ['f32']);
    square.get(0).get(0).op('f32.mul');
    const fn = mod.func(['i32', 'i32'], ['f32'], 'sumsq');
    const [ptr, n] = [0, 1];
    const i = fn.local('i32');
    const acc = fn.local('f32');
    fn.forRange(
      i,
      () => fn.i32(0),
      () => fn.get(n),
      1,
      () => {
        fn.get(acc).get(ptr).get(i).i32(2).op('i32.shl').op('i32.add').mem('f32.load').call(square).op('f32.add').set(acc);
      },
    );
    fn.get(acc);
    const { exports, f32 } = load(mod);
    const xs = [1.5, -2, 3.25, 0.5, 7];
    f32.set(xs, 4);
    const sumsq = exports.sumsq as (p: number, n: number) => number;
    expect(sumsq(16, xs.length)).toBe(Math.fround(xs.reduce((s, x) => s + x * x, 0)));
    expect(sumsq(16, 0)).toBe(0);
  });

  it('branches with if/else and br_if: integer clamp', () => {
    const mod = new ModuleBuilder();
    const fn = mod.func(['i32', 'i32'], ['i32'], 'clampMin');
    fn.get(0)
      .get(1)
      .op('i32.lt_s')
      .ifElse(
        () => fn.get(1),
        () => fn.get(0),
        'i32',
      );
    const early = mod.func(['i32'], ['i32'], 'isZero');
    const out = early.local('i32');
    early.block(() => {
      early.i32(1).set(out);
      early.get(0).op('i32.eqz').brIf(0);
      early.i32(0).set(out);
    });
    early.get(out);
    const { exports } = load(mod);
    const clampMin = exports.clampMin as (a: number, b: number) => number;
    const isZero = exports.isZero as (a: number) => number;
    expect([clampMin(-5, 0), clampMin(7, 0), clampMin(-1000, -2000)]).toEqual([0, 7, -1000]);
    expect([isZero(0), isZero(3)]).toEqual([1, 0]);
  });

  it('imports a shared memory when asked', () => {
    const mod = new ModuleBuilder({ minPages: 1, maxPages: 4, shared: true });
    mod.func([], ['i32'], 'size').i32(4).mem('i32.load');
    const bytes = mod.toBytes();
    expect(wasmApi.validate(bytes)).toBe(true);
    const memory = new wasmApi.Memory({ initial: 1, maximum: 4, shared: true });
    new Int32Array(memory.buffer)[1] = 42;
    expect((instantiate(new wasmApi.Module(bytes), memory).exports.size as () => number)()).toBe(42);
    expect(() => new ModuleBuilder({ minPages: 1, shared: true }).toBytes()).toThrow(/maxPages/);
  });
});

describe('v128 instructions', () => {
  const A = [1.5, -2.25, Number.NaN, 0];
  const B = [0.5, 3, 1, -0];
  const f = Math.fround;

  /** Runs `op` over lanes a and b (loaded from memory) and returns the result's bytes as float32 and int32 lanes. */
  function binary(op: SimdOp, a: number[], b: number[]) {
    const mod = new ModuleBuilder();
    const fn = mod.func([], [], 'run');
    fn.i32(32).i32(0).mem('v128.load').i32(0).mem('v128.load', 16).op(op).mem('v128.store');
    const { exports, f32, i32 } = load(mod);
    f32.set(a, 0);
    f32.set(b, 4);
    (exports.run as () => void)();
    return { f: Array.from(f32.subarray(8, 12)), i: Array.from(i32.subarray(8, 12)) };
  }

  const lanewise = (g: (x: number, y: number) => number) => A.map((x, k) => f(g(x, B[k]!)));
  it.each<[SimdOp, (x: number, y: number) => number]>([
    ['f32x4.add', (x, y) => x + y],
    ['f32x4.sub', (x, y) => x - y],
    ['f32x4.mul', (x, y) => x * y],
    ['f32x4.div', (x, y) => x / y],
    ['f32x4.min', (x, y) => Math.min(x, y)],
    ['f32x4.max', (x, y) => Math.max(x, y)],
    // pmin/pmax are `b < a ? b : a` and `a < b ? b : a`: no NaN propagation, as x86 minps/maxps.
    // biome-ignore lint/complexity/useMathMinMax: the comparison form is the semantics under test (Math.min propagates NaN)
    ['f32x4.pmin', (x, y) => (y < x ? y : x)],
    // biome-ignore lint/complexity/useMathMinMax: as above
    ['f32x4.pmax', (x, y) => (x < y ? y : x)],
  ])('%s matches JS arithmetic rounded to float32', (op, g) => {
    expect(binary(op, A, B).f).toEqual(lanewise(g));
  });

  it.each<[SimdOp, (x: number, y: number) => boolean]>([
    ['f32x4.eq', (x, y) => x === y],
    ['f32x4.ne', (x, y) => x !== y],
    ['f32x4.lt', (x, y) => x < y],
    ['f32x4.le', (x, y) => x <= y],
    ['f32x4.gt', (x, y) => x > y],
    ['f32x4.ge', (x, y) => x >= y],
  ])('%s gives all-ones masks where JS says true', (op, g) => {
    expect(binary(op, A, B).i).toEqual(A.map((x, k) => (g(x, B[k]!) ? -1 : 0)));
  });

  it('bitselect, and/or/xor/andnot/not work on bits', () => {
    const mod = new ModuleBuilder();
    const fn = mod.func([], [], 'run');
    // out = bitselect(a, b, mask) where mask = a < b; then (a & b) | ~a ^ b stored too.
    fn.i32(32).i32(0).mem('v128.load').i32(0).mem('v128.load', 16).i32(0).mem('v128.load').i32(0).mem('v128.load', 16).op('f32x4.lt');
    fn.op('v128.bitselect').mem('v128.store');
    fn.i32(48).i32(0).mem('v128.load').i32(0).mem('v128.load', 16).op('v128.and').i32(0).mem('v128.load').op('v128.not');
    fn.op('v128.or').i32(0).mem('v128.load', 16).op('v128.xor').i32(0).mem('v128.load').op('v128.andnot').mem('v128.store');
    const { exports, i32, f32 } = load(mod);
    i32.set([0x0f0f0f0f, 7, -1, 0], 0);
    i32.set([0x00ff00ff, 3, 5, -8], 4);
    (exports.run as () => void)();
    const a = Array.from(i32.subarray(0, 4));
    const b = Array.from(i32.subarray(4, 8));
    const af = Array.from(f32.subarray(0, 4));
    const bf = Array.from(f32.subarray(4, 8));
    expect(Array.from(i32.subarray(8, 12))).toEqual(a.map((x, k) => (af[k]! < bf[k]! ? x : b[k]!)));
    expect(Array.from(i32.subarray(12, 16))).toEqual(a.map((x, k) => ((((x & b[k]!) | ~x) ^ b[k]!) & ~x) | 0));
  });

  it('i32x4 arithmetic, shifts and float<->int conversions (the exponent tricks)', () => {
    const mod = new ModuleBuilder();
    const fn = mod.func([], [], 'run');
    // 2^n built from n's bits: ((n + 127) << 23) reinterpreted, n = trunc_sat(nearest(x)).
    fn.i32(16).i32(0).mem('v128.load').op('f32x4.nearest').op('i32x4.trunc_sat_f32x4_s').i32x4(127).op('i32x4.add').i32(23).op('i32x4.shl');
    fn.mem('v128.store');
    // Back: exponent field of those floats via shr_u, minus 127, converted to float.
    fn.i32(32).i32(16).mem('v128.load').i32(23).op('i32x4.shr_u').i32x4(127).op('i32x4.sub').op('f32x4.convert_i32x4_s').mem('v128.store');
    // Signed shift and multiply, max/min.
    fn.i32(48)
      .i32x4(-64)
      .i32(3)
      .op('i32x4.shr_s')
      .i32x4(5)
      .op('i32x4.mul')
      .i32x4(-30)
      .op('i32x4.max_s')
      .i32x4(-35)
      .op('i32x4.min_s')
      .mem('v128.store');
    const { exports, f32, i32 } = load(mod);
    f32.set([2.4, -3.5, 10.5, 0], 0);
    (exports.run as () => void)();
    // nearest rounds half to even: 2.4 -> 2, -3.5 -> -4, 10.5 -> 10, 0 -> 0.
    expect(Array.from(f32.subarray(4, 8))).toEqual([4, 1 / 16, 1024, 1]);
    expect(Array.from(f32.subarray(8, 12))).toEqual([2, -4, 10, 0]);
    expect(Array.from(i32.subarray(12, 16))).toEqual([-35, -35, -35, -35]);
  });

  it('splat, extract and replace lanes, load32_splat, sqrt/abs/neg, trunc_sat saturates NaN and overflow', () => {
    const mod = new ModuleBuilder();
    const fn = mod.func(['f32'], ['f32'], 'run');
    // [x, x, x, x] with lane 2 replaced by 9 -> sqrt, stored; returns lane 2 + lane 0 of that.
    const v = fn.local('v128');
    fn.get(0).op('f32x4.splat').f32(9).lane('f32x4.replace_lane', 2).op('f32x4.sqrt').set(v);
    fn.i32(0).get(v).mem('v128.store');
    fn.i32(16).i32(0).mem('v128.load32_splat', 8).op('f32x4.neg').op('f32x4.abs').op('f32x4.neg').mem('v128.store');
    fn.i32(32).f32x4([Number.NaN, 3e9, -3e9, -7.9]).op('i32x4.trunc_sat_f32x4_s').mem('v128.store');
    fn.i32(48).i32(-5).op('i32x4.splat').i32(11).lane('i32x4.replace_lane', 3).mem('v128.store');
    fn.get(v).lane('f32x4.extract_lane', 2).get(v).lane('f32x4.extract_lane', 0).op('f32.add');
    const { exports, f32, i32 } = load(mod);
    expect((exports.run as (x: number) => number)(16)).toBe(7);
    expect(Array.from(f32.subarray(0, 4))).toEqual([4, 4, 3, 4]);
    expect(Array.from(f32.subarray(4, 8))).toEqual([-3, -3, -3, -3]);
    expect(Array.from(i32.subarray(8, 12))).toEqual([0, 2147483647, -2147483648, -7]);
    expect(Array.from(i32.subarray(12, 16))).toEqual([-5, -5, -5, 11]);
  });
});

describe('module cache', () => {
  it('compiles a source key once', () => {
    let generated = 0;
    const gen = () => {
      generated++;
      const mod = new ModuleBuilder();
      mod.func([], ['i32'], 'one').i32(1);
      return mod.toBytes();
    };
    const before = compiledModuleCount();
    const first = compileCached('test:one', gen);
    expect(compileCached('test:one', gen)).toBe(first);
    expect(generated).toBe(1);
    expect(compiledModuleCount()).toBe(before + 1);
  });
});
