/**
 * Autograd with compile: modules — plain objects or nn modules whose
 * parameters require grad — compile and match eager, and a compiled
 * function's results backward into the parameters it closes over, whether
 * backward() is called on them or inside it (packages/tracer/src/training
 * tests this in detail).
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

  it('gives the parameters it closes over eager gradients, backward() called on its result or inside it', async () => {
    const w = randn([3], { requiresGrad: true });
    const x = randn([3]);
    const loss = (x: Tensor) => x.mul(w).exp().sum();
    loss(x).backward();
    const want = Array.from(await w.grad!.data());
    w.grad = null;
    const out = compile(loss)(x);
    expect(out.requiresGrad).toBe(true);
    out.backward();
    Array.from(await w.grad!.data()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    w.grad = null;
    compile((x: Tensor) => {
      const l = loss(x);
      l.backward();
      return l;
    })(x);
    Array.from(await w.grad!.data()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });
});
