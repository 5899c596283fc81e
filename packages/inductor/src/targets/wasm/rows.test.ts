import { bin, input, un, type VExpr, WasmArena } from '@kiln/eager/kernels';
import { evalVExpr64, mismatches, seededNormals } from '@kiln/eager/testing/wasm';
import { describe, expect, it } from 'vitest';
import { type RowReduceOp, rowReduceModule } from './row-reduce';
import { softmaxModule } from './softmax';

const SHAPES: [number, number][] = [
  [1, 1],
  [3, 3],
  [2, 4],
  [3, 5],
  [7, 17],
  [4, 1000],
  [5, 1003],
];

function runRows(
  module: ReturnType<typeof softmaxModule>,
  inputs: Float32Array[],
  rows: number,
  cols: number,
  outLen: number,
): Float32Array {
  const arena = new WasmArena();
  const ptrs = inputs.map((x) => arena.put(x));
  const out = arena.alloc(outLen + 4);
  arena.f32(out, outLen + 4).fill(-12345);
  arena.kernel(module, 'run')(out, ...ptrs, rows, cols);
  // Nothing written past the output.
  expect(Array.from(arena.f32(out + 4 * outLen, 4))).toEqual([-12345, -12345, -12345, -12345]);
  return arena.f32(out, outLen).slice();
}

/** Row-wise float64 reduction of expr and the sum of |terms| per row (what float32 summation error scales with). */
function reduce64(expr: VExpr, op: RowReduceOp, inputs: Float32Array[], rows: number, cols: number) {
  const want = new Float64Array(rows);
  const mass = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = op === 'sum' ? 0 : Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) {
      const t = evalVExpr64(expr, (k) => inputs[k]![r * cols + j]!);
      acc = op === 'sum' ? acc + t : Math.max(acc, t);
      mass[r]! += Math.abs(t);
    }
    want[r] = acc;
  }
  return { want, mass };
}

describe('row reduction kernel', () => {
  const sumSq = bin('mul', input(0), input(0));
  const sumTanhProduct = un('tanh', bin('mul', input(0), input(1)));

  it.each(SHAPES)('sum of x² and max of x over %i x %i rows match float64', (rows, cols) => {
    const x = seededNormals(rows * cols, rows * 31 + cols, 2);
    const sq = reduce64(sumSq, 'sum', [x], rows, cols);
    // float32 sums of positive terms: a few ulps of the total.
    expect(mismatches(runRows(rowReduceModule(sumSq, 'sum'), [x], rows, cols, rows), sq.want, 1e-5, 0)).toEqual([]);
    const mx = reduce64(input(0), 'max', [x], rows, cols);
    expect(mismatches(runRows(rowReduceModule(input(0), 'max'), [x], rows, cols, rows), mx.want, 0, 0)).toEqual([]);
  });

  it.each(SHAPES)('signed sums of a two-input expression over %i x %i within the float32 summation bound', (rows, cols) => {
    const [a, b] = [seededNormals(rows * cols, cols, 2), seededNormals(rows * cols, cols + 1, 2)];
    const { want, mass } = reduce64(sumTanhProduct, 'sum', [a, b], rows, cols);
    const got = runRows(rowReduceModule(sumTanhProduct, 'sum'), [a, b], rows, cols, rows);
    // Each lane sums ⌈cols/4⌉ terms, then 2 more additions: error <= (⌈cols/4⌉ + 2)·2^-24·Σ|t|, plus the terms' own few ulps.
    for (let r = 0; r < rows; r++)
      expect(Math.abs(got[r]! - want[r]!)).toBeLessThanOrEqual((Math.ceil(cols / 4) + 6) * 2 ** -24 * mass[r]!);
  });

  it('max propagates NaN, and NaN only in its row', () => {
    const x = seededNormals(3 * 9, 5);
    x[9 + 8] = Number.NaN; // the tail of row 1
    const got = runRows(rowReduceModule(input(0), 'max'), [x], 3, 9, 3);
    expect(Number.isNaN(got[1]!)).toBe(true);
    expect([got[0], got[2]].every(Number.isFinite)).toBe(true);
  });
});

/** Two-pass softmax in float64. */
function softmax64(x: Float32Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const max = row.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY);
    const e = Array.from(row, (v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    for (let j = 0; j < cols; j++) out[r * cols + j] = e[j]! / sum;
  }
  return out;
}

describe('softmax kernel (online max and sum)', () => {
  it.each(SHAPES)('%i x %i matches two-pass float64 softmax', (rows, cols) => {
    // Scale 8 and an offset of 1000 in one row: the max is what keeps exp in range.
    const x = seededNormals(rows * cols, rows + 7 * cols, 8);
    if (rows > 1) for (let j = 0; j < cols; j++) x[cols + j]! += 1000;
    expect(mismatches(runRows(softmaxModule(), [x], rows, cols, rows * cols), softmax64(x, rows, cols), 1e-4, 1e-6)).toEqual([]);
  });

  it('a row whose max grows late (ascending) rescales its running sum', () => {
    const cols = 1003;
    const x = Float32Array.from({ length: cols }, (_, j) => j / 50);
    expect(mismatches(runRows(softmaxModule(), [x], 1, cols, cols), softmax64(x, 1, cols), 1e-4, 1e-6)).toEqual([]);
  });

  it('masked (-Inf) elements get 0, a fully masked row NaN, rows with NaN or +Inf NaN, as float64 gives', () => {
    const cols = 9;
    const x = seededNormals(5 * cols, 11);
    const NEG = Number.NEGATIVE_INFINITY;
    // Row 0: causal-style mask on the first elements and in the tail; row 1: all masked;
    // row 2: a NaN; row 3: a +Inf; row 4: -Inf at the start, so the running max starts at -Inf.
    x.set([NEG, NEG, NEG, 0.5, 1, NEG, 2, 3, NEG], 0);
    x.fill(NEG, cols, 2 * cols);
    x[2 * cols + 4] = Number.NaN;
    x[3 * cols + 8] = Number.POSITIVE_INFINITY;
    x.set([NEG, NEG, NEG, NEG, NEG], 4 * cols);
    const want = softmax64(x, 5, cols);
    expect(want.subarray(cols, 2 * cols).every(Number.isNaN)).toBe(true);
    expect(mismatches(runRows(softmaxModule(), [x], 5, cols, 5 * cols), want, 1e-4, 1e-6)).toEqual([]);
  });
});
