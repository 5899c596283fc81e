import { probeWebGpu } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { runElementwise } from './elementwise-kernel';
import type { StridedOperand } from './strided-operand';

const gpu = await probeWebGpu();

function operand(
  buffer: GPUBuffer,
  shape: number[],
  strides: number[],
  offset = 0,
  dtype: StridedOperand['dtype'] = 'float32',
): StridedOperand {
  return { buffer, dtype, shape, strides, offset };
}

describe('runElementwise', () => {
  it('adds a transposed view to a broadcast row through strides (no copies)', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const [m, n] = [7, 5];
    const a = Float32Array.from({ length: m * n }, (_, i) => i * 0.5); // stored [n, m], read transposed
    const row = Float32Array.from({ length: n + 3 }, (_, i) => 100 * i); // row at offset 3
    const out = rt.alloc(m * n * 4);
    runElementwise(rt, {
      name: 'add',
      inputs: [operand(rt.upload(a), [m, n], [1, m]), operand(rt.upload(row), [m, n], [0, 1], 3)],
      computeDTypes: ['float32', 'float32'],
      resultDType: 'float32',
      output: operand(out, [m, n], [n, 1]),
      expr: ([x, y]) => `${x} + ${y}`,
    });
    const got = new Float32Array(await rt.read(out, 0, m * n * 4));
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expect(got[i * n + j]).toBe(a[j * m + i]! + row[3 + j]!);
  });

  it('uses vec4 access for dense operands and converts int and bool', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const n = 1000;
    const x = Int32Array.from({ length: n }, (_, i) => i - 500);
    const out = rt.alloc(n * 4);
    runElementwise(rt, {
      name: 'gt_zero',
      inputs: [operand(rt.upload(x), [n], [1], 0, 'int32')],
      computeDTypes: ['float32'],
      resultDType: 'bool',
      output: operand(out, [n], [1], 0, 'bool'),
      expr: ([v]) => `${v} > 0.5`,
    });
    const got = new Uint32Array(await rt.read(out, 0, n * 4));
    expect(Array.from(got)).toEqual(Array.from(x, (v) => (v > 0.5 ? 1 : 0)));
  });

  it('takes scalars from the metadata, so new values reuse the pipeline', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const x = Float32Array.from({ length: 10 }, (_, i) => i);
    const src = rt.upload(x);
    const out = rt.alloc(40);
    const run = (scale: number, shift: number) =>
      runElementwise(rt, {
        name: 'affine',
        inputs: [operand(src, [10], [1]), { value: scale, dtype: 'float32' }, { value: shift, dtype: 'int32' }],
        computeDTypes: ['float32', 'float32', 'float32'],
        resultDType: 'float32',
        output: operand(out, [10], [1]),
        expr: ([v, a, b]) => `${v} * ${a} + ${b}`,
      });
    run(1.5, -3);
    expect(Array.from(new Float32Array(await rt.read(out, 0, 40)))).toEqual(Array.from(x, (v) => v * 1.5 - 3));
    const misses = rt.pipelines.misses;
    run(-0.25, 7);
    expect(Array.from(new Float32Array(await rt.read(out, 0, 40)))).toEqual(Array.from(x, (v) => v * -0.25 + 7));
    expect(rt.pipelines.misses).toBe(misses);
  });

  it('handles grids larger than the workgroup limit with a grid-stride loop', async (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const n = 65535 * 256 + 17; // more threads than one dimension of workgroups can hold
    const out = rt.alloc(n * 4);
    const src = rt.upload(new Float32Array(n).fill(2));
    runElementwise(rt, {
      name: 'square',
      inputs: [operand(src, [n], [1])],
      computeDTypes: ['float32'],
      resultDType: 'float32',
      output: operand(out, [n], [1]),
      expr: ([v]) => `${v} * ${v}`,
    });
    const got = new Float32Array(await rt.read(out, 0, n * 4));
    expect(got[0]).toBe(4);
    expect(got[n - 1]).toBe(4);
    expect(got.every((v) => v === 4)).toBe(true);
    rt.release(out);
    rt.release(src);
  });
});
