/** W5: matmul 1024 x 1024 x 1024: compute-bound, the matmul template alone. */
import { manualSeed, randn, type Tensor } from '@kiln/eager';
import { PEER_TOLERANCE, type Workload } from './workload';

export const matmulSize = (quick: boolean) => (quick ? 512 : 1024);

export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b);
}

export const w5: Workload = {
  id: 'W5',
  title: 'matmul',
  size: (quick) => `${matmulSize(quick)}³`,
  make(device, quick) {
    manualSeed(5);
    const n = matmulSize(quick);
    return { args: [randn([n, n], { device }), randn([n, n], { device })], model: matmul };
  },
  tfjs:
    (tf, [a, b]) =>
    () =>
      tf.matMul(a!, b!),
  tfjsTolerance: PEER_TOLERANCE,
  jax:
    ({ numpy: np }) =>
    ([a, b]) =>
      np.matmul(a!, b!),
  jaxTolerance: PEER_TOLERANCE,
  flops: (quick) => 2 * matmulSize(quick) ** 3,
};
