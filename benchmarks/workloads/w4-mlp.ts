/** W4: an MLP, x[256, 768] -> linear 3072 -> gelu -> linear 768: two matmuls with bias and activation epilogues. */
import { type Device, F, manualSeed, randn, type Tensor } from '@kiln/eager';
import type { Workload } from './workload';

const tokens = (quick: boolean) => (quick ? 64 : 256);
const D = 768;
const HIDDEN = 3072;

/** The model as a user writes it: parameters as fields, `forward` as the code. */
export function mlp(device: Device) {
  return {
    fc1: randn([HIDDEN, D], { device }).mul(0.02),
    b1: randn([HIDDEN], { device }).mul(0.02),
    fc2: randn([D, HIDDEN], { device }).mul(0.02),
    b2: randn([D], { device }).mul(0.02),
    forward(x: Tensor): Tensor {
      return F.linear(F.gelu(F.linear(x, this.fc1, this.b1)), this.fc2, this.b2);
    },
  };
}

export const w4: Workload = {
  id: 'W4',
  title: 'MLP 768-3072-768',
  size: (quick) => `[${tokens(quick)}, ${D}]`,
  make(device, quick) {
    manualSeed(4);
    const model = mlp(device);
    return { args: [randn([tokens(quick), D], { device })], model };
  },
  tfjs(tf, [x], { fc1, b1, fc2, b2 }) {
    // F.gelu's default is the exact (erf) form; tfjs-core has erf but no gelu.
    return () => {
      const h = tf.add(tf.matMul(x!, fc1!, false, true), b1!);
      const g = tf.mul(tf.mul(h, 0.5), tf.add(tf.erf(tf.mul(h, Math.SQRT1_2)), 1));
      return tf.add(tf.matMul(g, fc2!, false, true), b2!);
    };
  },
  tfjsTolerance: { rtol: 1e-3, atol: 1e-4, why: "tfjs's erf is a polynomial approximation; other summation orders" },
  jax:
    ({ numpy: np, nn }) =>
    ([x], { fc1, b1, fc2, b2 }) => {
      const h = np.matmul(x!, fc1!.transpose()).add(b1!);
      return np.matmul(nn.gelu(h, { approximate: false }), fc2!.transpose()).add(b2!);
    },
  jaxTolerance: { rtol: 1e-3, atol: 1e-4, why: "jax-js's erfc is its own approximation; other summation orders" },
  flops: (quick) => 2 * 2 * tokens(quick) * D * HIDDEN,
};
