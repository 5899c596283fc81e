/**
 * Autograd beside compile: a compiled function records nothing for
 * backward (compiled training is a later step), refuses backward() inside,
 * and modules — plain objects or nn modules whose parameters require grad —
 * compile as before.
 */
import { nn, randn, type Tensor } from '@kiln/eager';
import { compile } from '@kiln/tracer';
import { describe, expect, it } from 'vitest';

describe('autograd and compile', () => {
  it('plain objects and nn modules with parameters that require grad compile and match eager', async () => {
    const w = randn([3, 4], { requiresGrad: true });
    const model = {
      w,
      forward(x: Tensor) {
        return x.matmul(this.w).relu();
      },
    };
    const fast = compile(model);
    const x = randn([2, 3]);
    expect(await fast(x).toArray()).toEqual(await model.forward(x).toArray());
    const lin = new nn.Linear(3, 4);
    const y = compile(lin)(x);
    const want = await lin.forward(x).data();
    Array.from(await y.data()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it('records nothing inside a compiled function and refuses backward() there', () => {
    const w = randn([3], { requiresGrad: true });
    const out = compile((x: Tensor) => x.mul(w).sum())(randn([3]));
    expect(out.requiresGrad).toBe(false);
    expect(() => out.backward()).toThrow('does not require grad');
    const step = compile((x: Tensor) => {
      const loss = x.mul(w).sum();
      loss.backward();
      return loss;
    });
    expect(() => step(randn([3]))).toThrow('backward: not supported');
  });
});
