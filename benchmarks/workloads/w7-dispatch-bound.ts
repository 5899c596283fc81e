/** W7: dispatch-bound: a chain of 20 small elementwise ops on a [64] tensor, where launch overhead is everything. */
import { manualSeed, randn, type Tensor } from '@kiln/eager';
import { PEER_TOLERANCE, type Workload } from './workload';

export function smallChain(x: Tensor): Tensor {
  let y = x.mul(1.1).add(0.3).tanh().mul(2).sub(0.1); // 5
  y = y.sigmoid().add(x).mul(0.5).exp().sub(1); // 10
  y = y.abs().add(1).log().mul(x).sin(); // 15
  return y.add(0.25).square().add(1).sqrt().neg(); // 20
}

export const w7: Workload = {
  id: 'W7',
  title: '20 small ops',
  size: () => '[64] x 20 ops',
  make(device) {
    manualSeed(7);
    return { args: [randn([64], { device })], model: smallChain };
  },
  tfjs(tf, [x]) {
    return () => {
      let y = tf.sub(tf.mul(tf.tanh(tf.add(tf.mul(x!, 1.1), 0.3)), 2), 0.1);
      y = tf.sub(tf.exp(tf.mul(tf.add(tf.sigmoid(y), x!), 0.5)), 1);
      y = tf.sin(tf.mul(tf.log(tf.add(tf.abs(y), 1)), x!));
      return tf.neg(tf.sqrt(tf.add(tf.square(tf.add(y, 0.25)), 1)));
    };
  },
  tfjsTolerance: PEER_TOLERANCE,
  jax:
    ({ numpy: np, nn }) =>
    ([x]) => {
      let y = np.tanh(x!.ref.mul(1.1).add(0.3)).mul(2).sub(0.1);
      y = np.exp(nn.sigmoid(y).add(x!.ref).mul(0.5)).sub(1);
      y = np.sin(np.log(np.abs(y).add(1)).mul(x!));
      return np.negative(np.sqrt(np.square(y.add(0.25)).add(1)));
    },
  jaxTolerance: PEER_TOLERANCE,
};
