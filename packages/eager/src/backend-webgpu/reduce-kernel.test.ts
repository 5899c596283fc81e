import { probeWebGpu } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import type { RowStrategy } from '../kernels/rows';
import type { ReduceOp } from '../ops/reductions';
import { runReduction } from './reduce-kernel';

const gpu = await probeWebGpu();

// Reference over rows of a [rows, len] matrix, in float64.
const REFERENCE: Record<ReduceOp, (row: number[]) => number> = {
  sum: (r) => r.reduce((a, b) => a + b, 0),
  prod: (r) => r.reduce((a, b) => a * b, 1),
  max: (r) => (r.some(Number.isNaN) ? NaN : Math.max(...r)),
  min: (r) => (r.some(Number.isNaN) ? NaN : Math.min(...r)),
  argmax: (r) => {
    const nan = r.findIndex(Number.isNaN);
    return nan >= 0 ? nan : r.indexOf(Math.max(...r));
  },
  argmin: (r) => {
    const nan = r.findIndex(Number.isNaN);
    return nan >= 0 ? nan : r.indexOf(Math.min(...r));
  },
  any: (r) => Number(r.some((v) => v !== 0)),
  all: (r) => Number(r.every((v) => v !== 0)),
};

const cases: [ReduceOp, RowStrategy, boolean][] = [];
for (const op of Object.keys(REFERENCE) as ReduceOp[])
  for (const strategy of ['thread', 'workgroup'] as const) for (const transposed of [false, true]) cases.push([op, strategy, transposed]);

describe('runReduction', () => {
  it.for(cases)('%s by %s (transposed input: %s) matches a float64 reference', async ([op, strategy, transposed], ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const [rows, len] = [37, 301];
    // Small integers (exact sums), repeated values (ties), a NaN in row 3, zeros for any/all.
    const data = Float32Array.from({ length: rows * len }, (_, i) => ((i * 7919) % 13) - 6);
    data[3 * len + 17] = NaN;
    if (op === 'prod') data.forEach((v, i) => (data[i] = Number.isNaN(v) ? v : 1 + (v % 2) * 0.001));
    // Stored row-major [rows, len], or stored [len, rows] and read transposed.
    const stored = transposed ? Float32Array.from({ length: rows * len }, (_, i) => data[(i % rows) * len + Math.floor(i / rows)]!) : data;
    const input = {
      buffer: rt.upload(stored),
      dtype: 'float32' as const,
      shape: [rows, len],
      strides: transposed ? [1, rows] : [len, 1],
      offset: 0,
    };
    const indexed = op === 'argmax' || op === 'argmin';
    const outDType = indexed ? 'int32' : op === 'any' || op === 'all' ? 'bool' : 'float32';
    const out = rt.alloc(rows * 4);
    runReduction(rt, {
      name: op,
      op,
      input,
      outerRank: 1,
      strategy,
      output: { buffer: out, dtype: outDType, shape: [rows], strides: [1], offset: 0 },
    });
    const raw = await rt.read(out, 0, rows * 4);
    const got = outDType === 'float32' ? new Float32Array(raw) : outDType === 'int32' ? new Int32Array(raw) : new Uint32Array(raw);
    for (let r = 0; r < rows; r++) {
      const want = REFERENCE[op](Array.from(data.subarray(r * len, (r + 1) * len)));
      if (Number.isNaN(want)) expect(got[r]).toBeNaN();
      else expect(got[r]).toBeCloseTo(want, op === 'prod' ? 3 : 5);
    }
  });
});
