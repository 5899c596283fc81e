import { describe, expect, it } from 'vitest';
import { type Expr, ivar } from '../ir/expr';
import type { PointwiseKernel } from './kernel';
import { RenderCache } from './render-cache';

/** out0[i] = in0[i] * factor, as kernel `name`. */
function scale(name: string, factor: number): PointwiseKernel {
  const x: Expr = { kind: 'load', input: 0, index: ivar('i', 8), dtype: 'float32' };
  const expr: Expr = {
    kind: 'call',
    op: 'mul',
    args: [x, { kind: 'const', value: factor, dtype: 'float32' }],
    types: { compute: ['float32', 'float32'], operand: 'float32', result: 'float32', out: 'float32' },
    dtype: 'float32',
  };
  return {
    kind: 'pointwise',
    name,
    fusedOps: ['mul'],
    shape: [8],
    inputs: [{ dtype: 'float32' }],
    outputs: [{ dtype: 'float32' }],
    randomSources: [],
    stores: [{ output: 0, expr }],
  };
}

let renders = 0;
const render = (k: PointwiseKernel) => ({
  source: `// kiln kernel ${k.name}: mul\nbody of ${JSON.stringify(k.stores)}`,
  renders: ++renders,
});

describe('RenderCache', () => {
  it('renders a kernel of a structure it has rendered once, renamed; another structure or variant is rendered', () => {
    const cache = new RenderCache<ReturnType<typeof render>>();
    const first = cache.get(scale('fused_mul_1', 2), 'v', () => render(scale('fused_mul_1', 2)));
    const copy = cache.get(scale('fused_mul_7', 2), 'v', () => render(scale('fused_mul_7', 2)));
    expect(copy.renders).toBe(first.renders);
    expect(copy.source).toBe(first.source.replace('fused_mul_1', 'fused_mul_7'));
    expect(copy.source.startsWith('// kiln kernel fused_mul_7: mul\n')).toBe(true);
    expect(cache.get(scale('fused_mul_8', 3), 'v', () => render(scale('fused_mul_8', 3))).renders).not.toBe(first.renders);
    expect(cache.get(scale('fused_mul_9', 2), 'w', () => render(scale('fused_mul_9', 2))).renders).not.toBe(first.renders);
  });
});
