import { describe, expect, it } from 'vitest';
import { erf64, seededNormals } from '../../testing/wasm-reference';
import { WasmArena } from './arena';
import { gemm, matmulWasm } from './matmul';
import { DEFAULT_MATMUL, type MatmulConfig } from './matmul-kernel';
import { geluErf, input, un } from './vexpr';

/** The fused gelu epilogue in float64. */
const gelu64 = (x: number) => 0.5 * x * (1 + erf64(x * Math.SQRT1_2));

interface Case {
  M: number;
  N: number;
  K: number;
}

/**
 * Checks got against C + A·B (+ bias, then act) in float64. A float32 dot
 * product of K terms is within γ·Σ|a||b| (γ = K·2^-24, plus one rounding for
 * C and one for the bias); the activation adds its float32 tolerance and
 * scales the error by its slope (gelu's is below 1.13).
 */
function check(
  got: Float32Array,
  { M, N, K }: Case,
  a: Float32Array,
  b: Float32Array,
  c0: Float32Array,
  bias?: Float32Array,
  act?: (x: number) => number,
) {
  const bad: string[] = [];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let dot = c0[i * N + j]! + (bias?.[j] ?? 0);
      let mass = Math.abs(dot);
      for (let k = 0; k < K; k++) {
        dot += a[i * K + k]! * b[k * N + j]!;
        mass += Math.abs(a[i * K + k]! * b[k * N + j]!);
      }
      const want = act ? act(dot) : dot;
      const bound = 1.13 * (K + 2) * 2 ** -24 * mass + (act ? 1e-5 + 1e-4 * Math.abs(want) : 0);
      const g = got[i * N + j]!;
      if (!(Math.abs(g - want) <= bound) && bad.length < 5) bad.push(`[${i}, ${j}] got ${g} want ${want} (bound ${bound})`);
    }
  }
  return bad;
}

const CASES: Case[] = [
  { M: 1, N: 1, K: 1 },
  { M: 3, N: 5, K: 7 },
  { M: 4, N: 8, K: 16 },
  { M: 5, N: 9, K: 3 },
  { M: 17, N: 33, K: 65 },
  { M: 64, N: 64, K: 64 },
  // K > KC (two K blocks, the second partial), M > MC, N and M tails.
  { M: 67, N: 129, K: 300 },
  { M: 0, N: 5, K: 3 },
  { M: 3, N: 0, K: 3 },
];

function operands({ M, N, K }: Case, seed: number) {
  return {
    a: seededNormals(M * K, seed),
    b: seededNormals(K * N, seed + 1),
    c0: seededNormals(M * N, seed + 2),
    bias: seededNormals(N, seed + 3),
  };
}

describe('wasm matmul (register-blocked f32x4 micro-kernel over packed B)', () => {
  it.each(CASES)('C += A·B for $M x $N x $K matches float64', (shape) => {
    const { a, b, c0 } = operands(shape, shape.M * 7 + shape.N + shape.K);
    const got = matmulWasm(new WasmArena(), { ...shape, a, b, c: c0 });
    expect(check(got, shape, a, b, c0)).toEqual([]);
  });

  it.each(CASES)('fused bias + gelu epilogue for $M x $N x $K matches float64', (shape) => {
    const { a, b, c0, bias } = operands(shape, shape.K * 5 + shape.N);
    const cfg: MatmulConfig = { ...DEFAULT_MATMUL, bias: true, activation: geluErf(input(0)) };
    const got = matmulWasm(new WasmArena(), { ...shape, a, b, c: c0, bias }, cfg);
    expect(check(got, shape, a, b, c0, bias, gelu64)).toEqual([]);
  });

  it('K = 0 still applies the epilogue to C + bias', () => {
    const shape = { M: 3, N: 6, K: 0 };
    const { a, b, c0, bias } = operands(shape, 99);
    const got = matmulWasm(
      new WasmArena(),
      { ...shape, a, b, c: c0, bias },
      { ...DEFAULT_MATMUL, bias: true, activation: un('relu', input(0)) },
    );
    expect(check(got, shape, a, b, c0, bias, (x) => Math.max(x, 0))).toEqual([]);
  });

  it.each<[string, Partial<MatmulConfig>]>([
    ['4x8', { mr: 4, mc: 64 }],
    ['4x12', { nr: 12 }],
    ['4x16', { nr: 16 }],
    ['1x4, no unrolling, tiny blocks', { mr: 1, nr: 4, kc: 5, mc: 3, unroll: 1 }],
    ['unroll 3', { unroll: 3, kc: 31 }],
    // The test runner passes Node 20 the flag for relaxed SIMD, so both forms of the k step run.
    ['a multiply and an add per k step', { fma: false }],
    ['relaxed SIMD multiply-add per k step', { fma: true }],
  ])('tile config %s gives the same products', (_, over) => {
    const shape = { M: 29, N: 37, K: 70 };
    const { a, b, c0 } = operands(shape, 5);
    const got = matmulWasm(new WasmArena(), { ...shape, a, b, c: c0 }, { ...DEFAULT_MATMUL, ...over });
    expect(check(got, shape, a, b, c0)).toEqual([]);
  });

  /** A·B with A stored [M, K] or transposed ([K, M], read through strides [1, M]), B likewise ([N, K] when transposed). */
  function strided(shape: Case, transposeA: boolean, transposeB: boolean, arena = new WasmArena()) {
    const { M, N, K } = shape;
    const { a, b } = operands(shape, M + 3 * N + 5 * K);
    const store = (x: Float32Array, rows: number, cols: number, t: boolean) =>
      t ? Float32Array.from({ length: rows * cols }, (_, i) => x[(i % rows) * cols + Math.floor(i / rows)]!) : x;
    const pa = arena.put(store(a, M, K, transposeA));
    const pb = arena.put(store(b, K, N, transposeB));
    const c = arena.alloc(M * N);
    arena.f32(c, M * N).fill(Number.NaN); // C = A·B must not read C
    const call = {
      a: { ptr: pa, strides: (transposeA ? [1, M] : [K, 1]) as [number, number] },
      b: { ptr: pb, strides: (transposeB ? [1, K] : [N, 1]) as [number, number] },
      c,
      M,
      N,
      K,
    };
    gemm(arena, call);
    return { got: arena.f32(c, M * N).slice(), a, b };
  }

  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])('reads A transposed (%s) and B transposed (%s) through their strides', (ta, tb) => {
    // The last: B's 301·300 elements are packed in slices of panels (threaded), the last panel partial.
    for (const shape of [CASES[4]!, CASES[6]!, { M: 20, N: 301, K: 300 }]) {
      const { got, a, b } = strided(shape, ta, tb);
      expect(check(got, shape, a, b, new Float32Array(shape.M * shape.N))).toEqual([]);
    }
  });

  it('gives each row the bits it has alone, split over threads or not (each thread has its own scratch)', () => {
    // 300·129·67 multiply-adds: split over the pool's threads where there are several; a one-row call is not split.
    const [M, N, K] = [300, 129, 67];
    const arena = new WasmArena();
    const pa = arena.put(seededNormals(M * K, 11));
    const pb = arena.put(seededNormals(N * K, 12));
    const b = { ptr: pb, strides: [1, K] as [number, number] };
    const c = arena.alloc(M * N);
    gemm(arena, { a: { ptr: pa, strides: [K, 1] }, b, c, M, N, K });
    for (const row of [0, 5, 6, 151, 299]) {
      const alone = arena.alloc(N);
      gemm(arena, { a: { ptr: pa + 4 * row * K, strides: [K, 1] }, b, c: alone, M: 1, N, K });
      expect(Array.from(arena.f32(c + 4 * row * N, N))).toEqual(Array.from(arena.f32(alone, N)));
    }
  });

  it('notices a wrong product (the check can fail)', () => {
    const shape = { M: 5, N: 9, K: 3 };
    const { a, b, c0 } = operands(shape, 1);
    const got = matmulWasm(new WasmArena(), { ...shape, a, b, c: c0 });
    got[7]! += 1e-3;
    expect(check(got, shape, a, b, c0).length).toBe(1);
  });

  it('rejects configs it cannot generate', () => {
    const shape = { M: 1, N: 1, K: 1, a: new Float32Array(1), b: new Float32Array(1) };
    expect(() => matmulWasm(new WasmArena(), shape, { ...DEFAULT_MATMUL, nr: 6 })).toThrow(/config/);
    expect(() => matmulWasm(new WasmArena(), shape, { ...DEFAULT_MATMUL, activation: input(1) })).toThrow(/input 0/);
  });
});
