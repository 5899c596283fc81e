/** W3: layerNorm over the last dim of [4096, 768] with weight and bias: two row reductions and an epilogue. */
import { F, manualSeed, randn, type Tensor } from '@kiln/eager';
import { PEER_TOLERANCE, type Workload } from './workload';

const rows = (quick: boolean) => (quick ? 1024 : 4096);
const D = 768;

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  return F.layerNorm(x, [D], weight, bias);
}

export const w3: Workload = {
  id: 'W3',
  title: 'layerNorm',
  size: (quick) => `[${rows(quick)}, ${D}]`,
  make(device, quick) {
    manualSeed(3);
    const x = randn([rows(quick), D], { device });
    const weight = randn([D], { device }).mul(0.1).add(1);
    const bias = randn([D], { device }).mul(0.1);
    return { args: [x, weight, bias], model: layerNorm };
  },
  tfjs(tf, [x, weight, bias]) {
    return () => {
      const { mean, variance } = tf.moments(x!, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, 1e-5))), weight!), bias!);
    };
  },
  tfjsTolerance: PEER_TOLERANCE,
  jax:
    ({ nn }) =>
    ([x, weight, bias]) =>
      nn.standardize(x!, -1, { epsilon: 1e-5 }).mul(weight!).add(bias!),
  jaxTolerance: PEER_TOLERANCE,
};
