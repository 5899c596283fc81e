/**
 * W6: a GPT-2-small transformer block (d 768, 12 heads, causal attention,
 * pre-layernorm, residuals, tanh-gelu MLP) on one sequence of 128 tokens,
 * with seeded random weights: the mix of matmuls, reductions and
 * elementwise glue of a real model.
 */
import { type Device, F, manualSeed, randn, type Tensor } from '@kiln/eager';
import type { Jax, JaxArray } from '../lib/jax';
import type { Tf, TfTensor } from '../lib/tfjs';
import type { Workload } from './workload';

const seq = (quick: boolean) => (quick ? 64 : 128);
const D = 768;
const HEADS = 12;

/** GPT-2's block as a user writes it: weights as fields (std 0.02 like GPT-2's init), `forward` as the code. */
export function gpt2Block(device: Device) {
  const weight = (shape: number[]) => randn(shape, { device }).mul(0.02);
  const gain = () => randn([D], { device }).mul(0.1).add(1);
  return {
    ln1w: gain(),
    ln1b: weight([D]),
    attnW: weight([3 * D, D]),
    attnB: weight([3 * D]),
    projW: weight([D, D]),
    projB: weight([D]),
    ln2w: gain(),
    ln2b: weight([D]),
    fcW: weight([4 * D, D]),
    fcB: weight([4 * D]),
    fc2W: weight([D, 4 * D]),
    fc2B: weight([D]),
    forward(x: Tensor): Tensor {
      const [B, T, C] = x.shape as [number, number, number];
      const heads = (t: Tensor) => t.reshape([B, T, HEADS, C / HEADS]).transpose(1, 2);
      const [q, k, v] = F.linear(F.layerNorm(x, [C], this.ln1w, this.ln1b), this.attnW, this.attnB)
        .split(C, -1)
        .map(heads);
      const y = F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }).transpose(1, 2).reshape([B, T, C]);
      const h = x.add(F.linear(y, this.projW, this.projB));
      const m = F.gelu(F.linear(F.layerNorm(h, [C], this.ln2w, this.ln2b), this.fcW, this.fcB), { approximate: 'tanh' });
      return h.add(F.linear(m, this.fc2W, this.fc2B));
    },
  };
}

/** GPT-2's block in TensorFlow.js, as a function of its input [1, T, C]; the causal mask is made once, as a tfjs user would. */
export function tfjsBlockFn(tf: Tf, T: number, C: number, p: Record<string, TfTensor>): (x: TfTensor) => TfTensor {
  const hd = C / HEADS;
  const maskBias = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9));
  const layerNorm = (t: TfTensor, w: TfTensor, b: TfTensor) => {
    const { mean, variance } = tf.moments(t, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
  };
  const linear = (t: TfTensor, w: TfTensor, b: TfTensor) => tf.add(tf.matMul(t as TfTensor, w, false, true), b);
  const gelu = (t: TfTensor) =>
    tf.mul(tf.mul(t, 0.5), tf.add(tf.tanh(tf.mul(tf.add(t, tf.mul(tf.pow(t, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1));
  return (x) => {
    const x2 = tf.reshape(x, [T, C]);
    const qkv = linear(layerNorm(x2, p.ln1w!, p.ln1b!), p.attnW!, p.attnB!);
    const [q, k, v] = tf.split(qkv, 3, -1).map((t) => tf.transpose(tf.reshape(t, [T, HEADS, hd]), [1, 0, 2]));
    const scores = tf.add(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(hd)), maskBias);
    const y = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores, -1), v!), [1, 0, 2]), [T, C]);
    const h = tf.add(x2, linear(y, p.projW!, p.projB!));
    const m = gelu(linear(layerNorm(h, p.ln2w!, p.ln2b!), p.fcW!, p.fcB!));
    return tf.reshape(tf.add(h, linear(m, p.fc2W!, p.fc2B!)), [1, T, C]);
  };
}

function tfjsBlock(tf: Tf, [x]: TfTensor[], p: Record<string, TfTensor>): () => TfTensor {
  const [, T, C] = x!.shape as [number, number, number];
  const block = tfjsBlockFn(tf, T, C, p);
  return () => block(x!);
}

/** GPT-2's block in jax-js, as a function of its input [B, T, C] and its parameters; the causal mask is jax-js's attention's own (-inf, as kiln's). */
export function jaxBlockFn({ numpy: np, nn }: Jax): (x: JaxArray, p: Record<string, JaxArray>) => JaxArray {
  const layerNorm = (t: JaxArray, w: JaxArray, b: JaxArray) => nn.standardize(t, -1, { epsilon: 1e-5 }).mul(w).add(b);
  const linear = (t: JaxArray, w: JaxArray, b: JaxArray) => np.matmul(t, w.transpose()).add(b);
  return (x, p) => {
    const [B, T, C] = x.shape as [number, number, number];
    const qkv = linear(layerNorm(x.ref, p.ln1w!, p.ln1b!), p.attnW!, p.attnB!);
    const [q, k, v] = np.split(qkv, 3, -1).map((t) => t.reshape([B, T, HEADS, C / HEADS]));
    const y = nn.dotProductAttention(q!, k!, v!, { isCausal: true }).reshape([B, T, C]);
    const h = x.add(linear(y, p.projW!, p.projB!));
    const m = nn.gelu(linear(layerNorm(h.ref, p.ln2w!, p.ln2b!), p.fcW!, p.fcB!), { approximate: true });
    return h.add(linear(m, p.fc2W!, p.fc2B!));
  };
}

export const w6: Workload = {
  id: 'W6',
  title: 'GPT-2 block',
  size: (quick) => `[1, ${seq(quick)}, ${D}]`,
  make(device, quick) {
    manualSeed(6);
    const model = gpt2Block(device);
    return { args: [randn([1, seq(quick), D], { device })], model };
  },
  tfjs: tfjsBlock,
  tfjsTolerance: { rtol: 2e-3, atol: 2e-4, why: 'a whole block: errors of other summation orders and a -1e9 mask instead of -inf add up' },
  jax(jax) {
    const block = jaxBlockFn(jax);
    return ([x], p) => block(x!, p);
  },
  jaxTolerance: { rtol: 2e-3, atol: 2e-4, why: 'a whole block: errors of other summation orders add up' },
  flops: (quick) => 2 * seq(quick) * D * 12 * D + 4 * seq(quick) ** 2 * D,
};
