/**
 * W9: a whole GPT-2-small-shaped model, as people compile it: token and
 * position embeddings, 12 blocks of d 768 and 12 heads (W6's block), a final
 * layerNorm and a language-model head tied to the token embedding, over a
 * vocabulary of 8192, on one sequence of 64 tokens (`--quick`: 2 blocks).
 * What it measures beyond W6: a deep graph (some 257 ops), identical layers
 * (their kernels should be shared), and the first call's compile time.
 */
import { type Device, F, manualSeed, randn, type Tensor, tensor } from '@kiln/eager';
import type { Jax, JaxFn } from '../lib/jax';
import type { Tf, TfTensor } from '../lib/tfjs';
import { gpt2Block, jaxBlockFn, tfjsBlockFn } from './w6-transformer-block';
import type { Workload } from './workload';

const D = 768;
const VOCAB = 8192;
const T = 64;
const layers = (quick: boolean) => (quick ? 2 : 12);

export function gpt2Small(device: Device, depth: number) {
  const gain = () => randn([D], { device }).mul(0.1).add(1);
  return {
    wte: randn([VOCAB, D], { device }).mul(0.02),
    wpe: randn([T, D], { device }).mul(0.01),
    blocks: Array.from({ length: depth }, () => gpt2Block(device)),
    lnfw: gain(),
    lnfb: randn([D], { device }).mul(0.02),
    forward(idx: Tensor): Tensor {
      const t = idx.shape[1]!;
      let x = F.embedding(idx, this.wte).add(this.wpe.slice(0, 0, t));
      for (const block of this.blocks) x = block.forward(x);
      return F.linear(F.layerNorm(x, [D], this.lnfw, this.lnfb), this.wte);
    },
  };
}

/** The number of blocks, from the parameters' paths. */
const depthOf = (p: Record<string, unknown>) => Object.keys(p).filter((k) => /^blocks\.\d+\.ln1w$/.test(k)).length;

/** Block `i`'s parameters by their names in the block ('blocks.3.ln1w' -> 'ln1w'). */
function blockParams<T>(p: Record<string, T>, i: number): Record<string, T> {
  const prefix = `blocks.${i}.`;
  return Object.fromEntries(Object.entries(p).flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v]] : [])));
}

function tfjsModel(tf: Tf, [idx]: TfTensor[], p: Record<string, TfTensor>): () => TfTensor {
  const blocks = Array.from({ length: depthOf(p) }, (_, i) => tfjsBlockFn(tf, T, D, blockParams(p, i)));
  const ids = tf.cast(idx!, 'int32');
  return () => {
    let x = tf.add(tf.expandDims(tf.gather(p.wte!, tf.reshape(ids, [T])), 0), p.wpe!);
    for (const block of blocks) x = block(x);
    const { mean, variance } = tf.moments(x, -1, true);
    const h = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), p.lnfw!), p.lnfb!);
    return tf.reshape(tf.matMul(tf.reshape(h, [T, D]), p.wte!, false, true), [1, T, VOCAB]);
  };
}

function jaxModel(jax: Jax): JaxFn {
  const { numpy: np, nn } = jax;
  const block = jaxBlockFn(jax);
  return ([idx], p) => {
    let x = np
      .take(p.wte!.ref, idx!.astype(np.int32).reshape([T]), 0)
      .reshape([1, T, D])
      .add(p.wpe!);
    for (let i = 0, depth = depthOf(p); i < depth; i++) x = block(x, blockParams(p, i));
    const h = nn.standardize(x, -1, { epsilon: 1e-5 }).mul(p.lnfw!).add(p.lnfb!);
    return np.matmul(h, p.wte!.transpose());
  };
}

export const w9: Workload = {
  id: 'W9',
  title: 'GPT-2-small model',
  size: (quick) => `${layers(quick)} blocks, [1, ${T}] tokens, vocab ${VOCAB}`,
  make(device, quick) {
    manualSeed(9);
    const model = gpt2Small(device, layers(quick));
    const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % VOCAB);
    return { args: [tensor([ids], { device, dtype: 'int32' })], model };
  },
  tfjs: tfjsModel,
  tfjsTolerance: { rtol: 5e-3, atol: 5e-4, why: 'twelve blocks: errors of other summation orders and a -1e9 mask instead of -inf add up' },
  jax: jaxModel,
  jaxTolerance: { rtol: 5e-3, atol: 5e-4, why: 'twelve blocks: errors of other summation orders add up' },
  flops: (quick) => layers(quick) * (2 * T * D * 12 * D + 4 * T ** 2 * D) + 2 * T * D * VOCAB,
};
