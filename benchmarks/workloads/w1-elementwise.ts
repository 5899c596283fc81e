/** W1: an elementwise chain, gelu_tanh(x * 1.5 + 0.5) * sigmoid(x), over 4M floats: memory-bound, 6 eager kernels, 1 fused. */
import { F, manualSeed, randn, type Tensor } from '@kiln/eager';
import { PEER_TOLERANCE, type Workload } from './workload';

const numel = (quick: boolean) => (quick ? 1 << 20 : 4 << 20);

export function elementwiseChain(x: Tensor): Tensor {
  return F.gelu(x.mul(1.5).add(0.5), { approximate: 'tanh' }).mul(x.sigmoid());
}

export const w1: Workload = {
  id: 'W1',
  title: 'elementwise chain',
  size: (quick) => `[${numel(quick)}]`,
  make(device, quick) {
    manualSeed(1);
    return { args: [randn([numel(quick)], { device })], model: elementwiseChain };
  },
  tfjs(tf, [x]) {
    // tfjs-core has no gelu op: the tanh approximation spelled out.
    const c = Math.sqrt(2 / Math.PI);
    return () => {
      const a = tf.add(tf.mul(x!, 1.5), 0.5);
      const inner = tf.tanh(tf.mul(tf.add(a, tf.mul(tf.pow(a, 3), 0.044715)), c));
      return tf.mul(tf.mul(tf.mul(a, 0.5), tf.add(inner, 1)), tf.sigmoid(x!));
    };
  },
  tfjsTolerance: PEER_TOLERANCE,
  jax:
    ({ nn }) =>
    ([x]) =>
      nn.gelu(x!.ref.mul(1.5).add(0.5), { approximate: true }).mul(nn.sigmoid(x!)),
  jaxTolerance: PEER_TOLERANCE,
};
