/**
 * Compiled forward + backward against eager autograd, the independent
 * reference, on every device under test: for each model the loss and every
 * gradient of a compiled call (first call, and a cached one on new values)
 * equal eager's, with the inductor and with the 'eager' backend (which
 * runs the partitioned graphs op by op: a check of capture and partition
 * apart from code generation). Tolerance: float32's, rtol 1e-4 and atol
 * 1e-5 (the numeric contract in the repository's README.md), as for any
 * compiled graph.
 */
import type { Device, Tensor } from '@kiln/eager';
import { F, manualSeed, randn, tensor } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import { compile } from '../compile';

const devices = await devicesUnderTest();

async function expectClose(got: Tensor | null, want: Tensor | null, what: string): Promise<void> {
  expect(got === null, `${what}: has a gradient`).toBe(want === null);
  if (got === null || want === null) return;
  expect(got.shape, what).toEqual(want.shape);
  const [g, w] = [await got.data(), await want.data()];
  for (let i = 0; i < w.length; i++) {
    const ok = Math.abs(g[i]! - w[i]!) <= 1e-5 + 1e-4 * Math.abs(w[i]!);
    if (!ok) expect.fail(`${what}, element ${i}: compiled ${g[i]}, eager ${w[i]}`);
  }
}

interface Case {
  name: string;
  /** Tensors the loss is differentiated with respect to (made to require grad), then other inputs. */
  make(device: Device): { grad: Tensor[]; rest: Tensor[] };
  loss(...xs: Tensor[]): Tensor;
}

const r = (device: Device, ...shape: number[]) => randn(shape, { device });

const CASES: Case[] = [
  {
    name: 'an MLP (linear, gelu, linear, mean squared error)',
    make: (d) => ({ grad: [r(d, 16, 8), r(d, 16), r(d, 4, 16), r(d, 4)], rest: [r(d, 6, 8), r(d, 6, 4)] }),
    loss: (w1, b1, w2, b2, x, y) =>
      F.linear(F.gelu(F.linear(x!, w1!, b1)), w2!, b2)
        .sub(y!)
        .square()
        .mean(),
  },
  {
    name: 'layerNorm (input, weight and bias)',
    make: (d) => ({ grad: [r(d, 5, 12), r(d, 12), r(d, 12)], rest: [r(d, 5, 12)] }),
    loss: (x, w, b, c) => F.layerNorm(x!.mul(3), [12], w, b).mul(c!).sum(),
  },
  {
    name: 'causal attention with its projections',
    make: (d) => ({ grad: [r(d, 2, 6, 8), r(d, 24, 8).mul(0.3)], rest: [r(d, 2, 2, 6, 4)] }),
    loss: (x, w, c) => {
      const [q, k, v] = F.linear(x!, w!)
        .split(8, -1)
        .map((t) => t.reshape([2, 6, 2, 4]).transpose(1, 2));
      return F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }).mul(c!).sum();
    },
  },
  {
    name: 'crossEntropy over logits of a linear layer',
    make: (d) => ({
      grad: [r(d, 7, 10), r(d, 7)],
      rest: [r(d, 9, 10), tensor([0, 3, 6, 1, 2, 6, 5, 4, 0], { device: d, dtype: 'int32' })],
    }),
    loss: (w, b, x, targets) => F.crossEntropy(F.linear(x!, w!, b), targets!),
  },
];

describe.each(devices)('compiled gradients == eager gradients on %s', (device) => {
  for (const backend of ['inductor', 'eager'] as const) {
    for (const c of CASES) {
      it(`${c.name} (${backend} backend)`, async () => {
        const fast = compile(c.loss, { backend });
        for (const call of ['first', 'cached']) {
          manualSeed(call === 'first' ? 1 : 2);
          const { grad, rest } = c.make(device);
          const leaves = grad.map((t) => t.detach().requiresGrad_());
          const eagerLoss = c.loss(...leaves, ...rest);
          eagerLoss.backward();
          const want = leaves.map((l) => l.grad!.clone());
          leaves.forEach((l) => {
            l.grad = null;
          });
          const loss = fast(...leaves, ...rest);
          expect(loss.requiresGrad).toBe(true);
          await expectClose(loss, eagerLoss, `${call} call: the loss`);
          loss.backward();
          for (const [i, l] of leaves.entries()) await expectClose(l.grad, want[i]!, `${call} call: gradient ${i}`);
        }
        expect(fast.stats.graphsCompiled).toBe(1);
        // A graph compiled for training: its backward is compiled by the same backend.
        const backwardKernels = fast.explain().graphs[0]!.training!.backward.kernels;
        if (backend === 'inductor') expect(backwardKernels.length).toBeGreaterThan(0);
      });
    }
  }
});
