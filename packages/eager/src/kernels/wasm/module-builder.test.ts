import { describe, expect, it } from 'vitest';
import { ByteWriter } from './encoding';
import { ModuleBuilder } from './module-builder';
import { compileCached, compiledModuleCount } from './module-cache';
import type { PlainOp, SimdOp } from './opcodes';
import { arenaMemory, instantiate, wasmApi } from './wasm-api';

const hex = (w: ByteWriter) => Array.from(w.finish(), (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Builds, validates and instantiates a module over a fresh one-page memory (of the kind modules import by default). */
function load(mod: ModuleBuilder) {
  const bytes = mod.toBytes();
  expect(wasmApi.validate(bytes)).toBe(true);
  const memory = arenaMemory(1);
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

describe('scalar instructions', () => {
  /** Runs `op` on two params of the given type and returns its result. */
  function scalar(op: PlainOp, type: 'i32' | 'f32', result: 'i32' | 'f32', x: number, y: number): number {
    const mod = new ModuleBuilder();
    mod.func([type, type], [result], 'run').get(0).get(1).op(op);
    return (load(mod).exports.run as (a: number, b: number) => number)(x, y);
  }
  const f = Math.fround;
  const I = [7, -3];
  const F = [2.5, -0.75];

  it.each<[PlainOp, (a: number, b: number) => number]>([
    ['i32.add', (a, b) => a + b],
    ['i32.sub', (a, b) => a - b],
    ['i32.mul', (a, b) => Math.imul(a, b)],
    ['i32.div_s', (a, b) => Math.trunc(a / b)],
    ['i32.div_u', (a, b) => Math.trunc((a >>> 0) / (b >>> 0))],
    ['i32.rem_u', (a, b) => (a >>> 0) % (b >>> 0)],
    ['i32.and', (a, b) => a & b],
    ['i32.or', (a, b) => a | b],
    ['i32.xor', (a, b) => a ^ b],
    ['i32.shl', (a, b) => a << b],
    ['i32.shr_s', (a, b) => a >> b],
    ['i32.shr_u', (a, b) => (a >>> b) | 0],
    ['i32.eq', (a, b) => +(a === b)],
    ['i32.ne', (a, b) => +(a !== b)],
    ['i32.lt_s', (a, b) => +(a < b)],
    ['i32.lt_u', (a, b) => +(a >>> 0 < b >>> 0)],
    ['i32.gt_s', (a, b) => +(a > b)],
    ['i32.gt_u', (a, b) => +(a >>> 0 > b >>> 0)],
    ['i32.le_s', (a, b) => +(a <= b)],
    ['i32.le_u', (a, b) => +(a >>> 0 <= b >>> 0)],
    ['i32.ge_s', (a, b) => +(a >= b)],
    ['i32.ge_u', (a, b) => +(a >>> 0 >= b >>> 0)],
  ])('%s matches int32 arithmetic', (op, g) => {
    for (const [a, b] of [I, [I[1]!, I[0]!]]) expect(scalar(op, 'i32', 'i32', a!, b!)).toBe(g(a!, b!) | 0);
  });

  it.each<[PlainOp, 'f32' | 'i32', (a: number, b: number) => number]>([
    ['f32.add', 'f32', (a, b) => a + b],
    ['f32.sub', 'f32', (a, b) => a - b],
    ['f32.mul', 'f32', (a, b) => a * b],
    ['f32.div', 'f32', (a, b) => a / b],
    ['f32.min', 'f32', Math.min],
    ['f32.max', 'f32', Math.max],
    ['f32.eq', 'i32', (a, b) => +(a === b)],
    ['f32.ne', 'i32', (a, b) => +(a !== b)],
    ['f32.lt', 'i32', (a, b) => +(a < b)],
    ['f32.gt', 'i32', (a, b) => +(a > b)],
    ['f32.le', 'i32', (a, b) => +(a <= b)],
    ['f32.ge', 'i32', (a, b) => +(a >= b)],
  ])('%s matches float32 arithmetic', (op, result, g) => {
    for (const [a, b] of [F, [F[1]!, F[0]!]]) expect(scalar(op, 'f32', result, a!, b!)).toBe(f(g(a!, b!)));
  });

  it('unary, conversion, select, drop and return instructions', () => {
    const mod = new ModuleBuilder();
    const unary = (name: string, op: PlainOp, from: 'i32' | 'f32', to: 'i32' | 'f32') => mod.func([from], [to], name).get(0).op(op);
    unary('eqz', 'i32.eqz', 'i32', 'i32');
    unary('abs', 'f32.abs', 'f32', 'f32');
    unary('neg', 'f32.neg', 'f32', 'f32');
    unary('sqrt', 'f32.sqrt', 'f32', 'f32');
    unary('trunc', 'i32.trunc_f32_s', 'f32', 'i32');
    unary('convert', 'f32.convert_i32_s', 'i32', 'f32');
    unary('bits', 'i32.reinterpret_f32', 'f32', 'i32');
    unary('float', 'f32.reinterpret_i32', 'i32', 'f32');
    // select(10, 20, x); an early return skips the trap.
    mod.func(['i32'], ['i32'], 'pick').i32(10).i32(20).get(0).op('select').i32(99).op('drop').op('return').op('unreachable');
    const e = load(mod).exports as Record<string, (x: number) => number>;
    expect([e.eqz!(0), e.eqz!(5)]).toEqual([1, 0]);
    expect([e.abs!(-2.5), e.neg!(2.5), e.sqrt!(2.25)]).toEqual([2.5, -2.5, 1.5]);
    expect([e.trunc!(-7.9), e.convert!(-7), e.bits!(1), e.float!(0x40000000)]).toEqual([-7, -7, 0x3f800000, 2]);
    expect(() => e.trunc!(Number.NaN)).toThrow(); // i32.trunc_f32_s traps on NaN (the kernels use trunc_sat)
    expect([e.pick!(1), e.pick!(0)]).toEqual([10, 20]);
  });
});

describe('v128 instructions', () => {
  const A = [1.5, -2.25, Number.NaN, 0];
  const B = [0.5, 3, 1, -0];
  const f = Math.fround;

  /** Runs `op` over lanes a and b (loaded from memory, written as int32 when `ints`) and returns the result's bytes as float32 and int32 lanes. */
  function binary(op: SimdOp, a: number[], b: number[], ints = false) {
    const mod = new ModuleBuilder();
    const fn = mod.func([], [], 'run');
    fn.i32(32).i32(0).mem('v128.load').i32(0).mem('v128.load', 16).op(op).mem('v128.store');
    const { exports, f32, i32 } = load(mod);
    const view = ints ? i32 : f32;
    view.set(a, 0);
    view.set(b, 4);
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

  it.each<[SimdOp, (x: number, y: number) => number]>([
    ['i32x4.eq', (x, y) => -(x === y)],
    ['i32x4.ne', (x, y) => -(x !== y)],
    ['i32x4.lt_s', (x, y) => -(x < y)],
    ['i32x4.gt_s', (x, y) => -(x > y)],
    ['i32x4.le_s', (x, y) => -(x <= y)],
    ['i32x4.ge_s', (x, y) => -(x >= y)],
    ['i32x4.add', (x, y) => x + y],
    ['i32x4.sub', (x, y) => x - y],
    ['i32x4.mul', (x, y) => Math.imul(x, y)],
    ['i32x4.min_s', Math.min],
    ['i32x4.max_s', Math.max],
  ])('%s matches int32 lane arithmetic', (op, g) => {
    const a = [5, -7, 3, 0];
    const b = [5, 2, -9, 1];
    expect(binary(op, a, b, true).i).toEqual(a.map((x, k) => g(x, b[k]!) | 0));
  });

  it.each<[SimdOp, (x: number) => number]>([
    ['f32x4.ceil', Math.ceil],
    ['f32x4.floor', Math.floor],
    ['f32x4.trunc', Math.trunc],
    // nearest rounds half to even.
    ['f32x4.nearest', (x) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x))],
    ['f32x4.abs', Math.abs],
    ['f32x4.neg', (x) => -x],
    ['f32x4.sqrt', Math.sqrt],
  ])('%s matches Math on lanes', (op, g) => {
    const xs = [2.5, -1.5, 0.25, 9];
    const mod = new ModuleBuilder();
    mod.func([], [], 'run').i32(16).i32(0).mem('v128.load').op(op).mem('v128.store');
    const { exports, f32 } = load(mod);
    f32.set(xs, 0);
    (exports.run as () => void)();
    expect(Array.from(f32.subarray(4, 8))).toEqual(xs.map((x) => Math.fround(g(x))));
  });

  it('any_true and all_true reduce lanes to an i32', () => {
    const mod = new ModuleBuilder();
    mod.func([], ['i32'], 'any').i32(0).mem('v128.load').op('v128.any_true');
    mod.func([], ['i32'], 'all').i32(0).mem('v128.load').op('i32x4.all_true');
    const { exports, i32 } = load(mod);
    const [any, all] = [exports.any as () => number, exports.all as () => number];
    i32.set([0, 0, 0, 0]);
    expect([any(), all()]).toEqual([0, 0]);
    i32.set([0, 0, 8, 0]);
    expect([any(), all()]).toEqual([1, 0]);
    i32.set([1, -1, 8, 2]);
    expect([any(), all()]).toEqual([1, 1]);
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
