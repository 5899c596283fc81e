/**
 * The vectorized functions against float64 Math.* rounded to float32, over
 * the whole float32 range: every 4099th bit pattern of both signs, a dense
 * grid where the functions have their features, every float around each
 * branch switch and overflow/underflow threshold, and the special values.
 * Tolerance: |got - ref| <= 1e-5 + 1e-4·|ref| (the correctness rule's
 * float32 tolerance); NaN, ±Inf and zeros (with their sign) must match exactly.
 */

import { bin, constant, input, type UnaryFn, un, type VExpr, WasmArena } from '@kiln/eager/kernels';
import { UNARY64 } from '@kiln/eager/testing/wasm';
import { describe, expect, it } from 'vitest';
import { pointwiseModule } from './pointwise';

const RTOL = 1e-4;
const ATOL = 1e-5;

/** Runs the pointwise kernel of `expr` over xs. */
function apply(expr: VExpr, xs: Float32Array): Float32Array {
  const arena = new WasmArena();
  const src = arena.put(xs);
  const dst = arena.alloc(xs.length);
  arena.kernel(pointwiseModule(expr), 'run')(dst, src, xs.length);
  return arena.f32(dst, xs.length).slice();
}

const bitsToFloat = (bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);
const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);
const floatBits = (x: number) => {
  scratchF[0] = x;
  return scratchU[0]!;
};

/** Every float32 within `radius` ulps of x (both signs' neighbours as the bit patterns go). */
function around(x: number, radius: number): number[] {
  const b = floatBits(x);
  return Array.from(bitsToFloat(Array.from({ length: 2 * radius + 1 }, (_, k) => b - radius + k).filter((v) => v >= 0 && v <= 0xffffffff)));
}

/** Every SWEEP_STRIDE-th bit pattern of each sign: a million floats spread evenly over every binade. */
const SWEEP_STRIDE = 4099;

const SPECIALS = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0,
  -0,
  2 ** -149,
  -(2 ** -149),
  2 ** -126 - 2 ** -149,
  2 ** -126,
  -(2 ** -126),
  3.4028234663852886e38,
  -3.4028234663852886e38,
  1,
  -1,
];

/** The test inputs: the sweep, a grid over [-20, 20] and the neighbourhoods of `edges`. */
function inputs(edges: number[]): Float32Array {
  const sweep = new Uint32Array(2 * Math.ceil(0x80000000 / SWEEP_STRIDE));
  for (let k = 0; k < sweep.length / 2; k++) [sweep[2 * k], sweep[2 * k + 1]] = [k * SWEEP_STRIDE, k * SWEEP_STRIDE + 0x80000000];
  const grid = Float32Array.from({ length: 400_001 }, (_, k) => (k - 200_000) / 10_000);
  const near = edges.flatMap((e) => [...around(e, 3000), ...around(-e, 3000)]);
  const n = SPECIALS.length + sweep.length + grid.length + near.length;
  const xs = new Float32Array(n);
  xs.set(SPECIALS);
  xs.set(new Float32Array(sweep.buffer), SPECIALS.length);
  xs.set(grid, SPECIALS.length + sweep.length);
  xs.set(near, SPECIALS.length + sweep.length + grid.length);
  return xs;
}

/** Distance in float32 ulps (through the ordered bit patterns). */
function ulps(a: number, b: number): number {
  const ord = (x: number) => {
    const u = floatBits(x);
    return u >= 0x80000000 ? -(u - 0x80000000) : u;
  };
  return Math.abs(ord(a) - ord(b));
}

interface Case {
  fn: UnaryFn;
  /** Where branches switch and results overflow or underflow. */
  edges: number[];
  /** Max ulps over normal results: measured (1, 1, 1, 3, 2) plus one, so a regression shows before the tolerance does. */
  maxUlps: number;
}

const CASES: Case[] = [
  // ln(FLT_MAX), where exp turns Inf; -87.34 where it turns subnormal; -103.97 where it rounds to 0.
  { fn: 'exp', edges: [88.72283935546875, 87.33654022216797, 103.97207641601562, 0.34657359], maxUlps: 2 },
  { fn: 'log', edges: [1, Math.SQRT1_2, Math.SQRT2, 2 ** -126, 2 ** -149, 3.4e38], maxUlps: 2 },
  { fn: 'tanh', edges: [0.625, 9.01, 2 ** -126], maxUlps: 2 },
  { fn: 'erf', edges: [0.5, 3.9, 2 ** -126], maxUlps: 4 },
  { fn: 'sigmoid', edges: [0, 88.72283935546875, 103.97207641601562, 16.6], maxUlps: 3 },
];

describe('vector math vs float64 Math.*', () => {
  it.each(CASES)('$fn within float32 tolerance over the whole range, specials exact', ({ fn, edges, maxUlps }) => {
    const ref = UNARY64[fn];
    const xs = inputs(edges);
    const got = apply(un(fn, input(0)), xs);
    const bad: string[] = [];
    let worstUlps = 0;
    let worstRel = 0;
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k]!;
      const want = Math.fround(ref(x));
      const g = got[k]!;
      const exact = !Number.isFinite(want) || want === 0 || g === 0;
      const ok = exact ? Object.is(g, want) || (Number.isNaN(g) && Number.isNaN(want)) : Math.abs(g - want) <= ATOL + RTOL * Math.abs(want);
      if (!ok && bad.length < 10) bad.push(`x=${x} got ${g} want ${want}`);
      if (Number.isFinite(want) && Math.abs(want) >= 2 ** -126) {
        worstUlps = Math.max(worstUlps, ulps(g, want));
        worstRel = Math.max(worstRel, Math.abs(g - ref(x)) / Math.abs(ref(x)));
      }
    }
    // KILN_ACCURACY=1 prints the figures (for reports).
    if (process.env.KILN_ACCURACY)
      console.info(`${fn}: ${xs.length} inputs, max ${worstUlps} ulp, max rel error ${worstRel.toExponential(2)} (vs float64)`);
    expect(bad).toEqual([]);
    expect(worstUlps).toBeLessThanOrEqual(maxUlps);
  });

  it('the checker itself catches an error of 1e-4 relative', () => {
    const xs = new Float32Array([0.5, 1, 2, 3]);
    const got = apply(bin('mul', un('exp', input(0)), constant(1.0002)), xs);
    expect(Array.from(xs).some((x, k) => Math.abs(got[k]! - Math.exp(x)) > ATOL + RTOL * Math.exp(x))).toBe(true);
  });
});
