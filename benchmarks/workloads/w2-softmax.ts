/** W2: softmax over the last dim of [1024, 1024]: a row reduction with its epilogue. */
import { F, manualSeed, randn, type Tensor } from '@kiln/eager';
import { PEER_TOLERANCE, type Workload } from './workload';

const rows = (quick: boolean) => (quick ? 512 : 1024);

export function softmaxLastDim(x: Tensor): Tensor {
  return F.softmax(x, -1);
}

export const w2: Workload = {
  id: 'W2',
  title: 'softmax',
  size: (quick) => `[${rows(quick)}, 1024]`,
  make(device, quick) {
    manualSeed(2);
    return { args: [randn([rows(quick), 1024], { device })], model: softmaxLastDim };
  },
  tfjs:
    (tf, [x]) =>
    () =>
      tf.softmax(x!, -1),
  tfjsTolerance: PEER_TOLERANCE,
  jax:
    ({ nn }) =>
    ([x]) =>
      nn.softmax(x!, -1),
  jaxTolerance: PEER_TOLERANCE,
};
