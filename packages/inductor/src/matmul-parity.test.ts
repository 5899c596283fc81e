/**
 * Matmul parity with eager (issue 16): for each operand layout a model
 * meets, the compiled matmul is eager's own kernel (the same pipeline, so
 * the same template variant and tiling), and with an epilogue fused into it
 * keeps that variant and tiling.
 */
import { randn, type Tensor, tidy } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { getRuntime } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { compileGraph } from './compile';
import { record } from './testing/record';

const webgpu = (await devicesUnderTest()).includes('webgpu');

interface Layout {
  name: string;
  shapes: number[][];
  matmul: (...x: Tensor[]) => Tensor;
  /** The matmul with an elementwise tail the scheduler fuses into it, reading `x[shapes.length]` (one more input). */
  fused: (extra: Tensor, ...x: Tensor[]) => Tensor;
  extra: number[];
  /** The template variant eager picks for this layout. */
  variant: string;
}

const linear = (x: Tensor, w: Tensor) => x.matmul(w.transpose(0, 1));
const heads = (qkv: Tensor, part: number) =>
  qkv
    .slice(-1, part * 32, (part + 1) * 32)
    .reshape([1, 8, 4, 8])
    .transpose(1, 2);

const LAYOUTS: Layout[] = [
  {
    name: 'linear, transposed weight (nt)',
    shapes: [
      [24, 32],
      [40, 32],
    ],
    matmul: linear,
    fused: (b, x, w) => linear(x, w).add(b).relu(),
    extra: [40],
    variant: 'nt',
  },
  {
    name: 'batched linear [1, T, C] (nt)',
    shapes: [
      [1, 24, 32],
      [40, 32],
    ],
    matmul: linear,
    fused: (r, x, w) => r.add(linear(x, w)),
    extra: [1, 24, 40],
    variant: 'nt',
  },
  {
    name: 'row-major operands (vec4)',
    shapes: [
      [24, 32],
      [32, 40],
    ],
    matmul: (a, b) => a.matmul(b),
    fused: (s, a, b) => a.matmul(b).mul(s),
    extra: [40],
    variant: 'vec4',
  },
  {
    name: 'unaligned K (scalar)',
    shapes: [
      [24, 30],
      [30, 41],
    ],
    matmul: (a, b) => a.matmul(b),
    fused: (s, a, b) => a.matmul(b).sub(s),
    extra: [41],
    variant: 'scalar',
  },
  {
    name: 'attention scores q·kᵀ on head views of one qkv buffer',
    shapes: [[1, 8, 96]],
    matmul: (qkv) => heads(qkv, 0).matmul(heads(qkv, 1).transpose(-2, -1)),
    fused: (m, qkv) => heads(qkv, 0).matmul(heads(qkv, 1).transpose(-2, -1)).mul(0.25).add(m),
    extra: [8, 8],
    variant: 'nt',
  },
];

/** The template's plan as the kernel's first line states it: '(matmul 4x4 per thread, workgroup 16x16, nt)'. */
const planOf = (source: string) => /\(matmul [^)]*\)/.exec(source.split('\n')[0]!)?.[0];

describe.runIf(webgpu)('compiled matmul vs eager on webgpu', () => {
  it.each(LAYOUTS)('$name: eager’s kernel, and the same plan with an epilogue', async ({ shapes, matmul, fused, extra, variant }) => {
    const rt = await getRuntime();
    const xs = shapes.map((s) => randn(s, { device: 'webgpu' }));
    const tail = randn(extra, { device: 'webgpu' });
    const want = tidy(() => matmul(...xs));
    await want.data(); // eager has made its pipeline
    const meta = (s: number[]) => ({ shape: s, dtype: 'float32' as const, device: 'webgpu' as const });
    const misses = rt.pipelines.misses;
    const bare = compileGraph(record(shapes.map(meta), matmul));
    expect(rt.pipelines.misses, 'the compiled matmul made a pipeline eager had not').toBe(misses);
    const [matmulKernel] = bare.kernels.filter((k) => k.kind === 'matmul');
    expect(planOf(matmulKernel!.source)).toContain(`, ${variant})`);
    const withTail = compileGraph(record([...shapes, extra].map(meta), (...ys) => fused(ys.at(-1)!, ...ys.slice(0, -1))));
    const fusedKernels = withTail.kernels.filter((k) => k.kind === 'matmul');
    expect(fusedKernels).toHaveLength(1);
    expect(withTail.kernels).toHaveLength(1); // the tail is the matmul's epilogue
    expect(planOf(fusedKernels[0]!.source)).toBe(planOf(matmulKernel!.source));
    // And they compute eager's values.
    const [got] = bare.run(xs);
    const [gotFused] = withTail.run([...xs, tail]);
    const wantFused = tidy(() => fused(tail, ...xs));
    for (const [g, w] of [
      [got!, want],
      [gotFused!, wantFused],
    ] as const) {
      const [a, b] = [await g.data(), await w.data()];
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(b[i]!));
    }
    for (const t of [...xs, tail, want, wantFused, got!, gotFused!]) t.dispose();
    bare.dispose();
    withTail.dispose();
  });
});
