/**
 * `F`: the functional ops of torch.nn.functional. Each is one dispatched op
 * (a composite the compiler decomposes), so a tracer records `softmax`,
 * not its pieces.
 */
import { dispatch } from './dispatch';
import type { Tensor } from './tensor';

export interface AttentionOptions {
  /** bool: true where a query may attend to a key; float: added to the scores. Broadcast to [..., L, S]. */
  attnMask?: Tensor;
  /** Query i attends to keys j <= i. */
  isCausal?: boolean;
  /** Defaults to 1 / sqrt(E). */
  scale?: number;
}

export const F = {
  relu: (x: Tensor): Tensor => dispatch('relu', [x], {}),
  gelu: (x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor =>
    dispatch('gelu', [x], { approximate: options.approximate ?? 'none' }),
  silu: (x: Tensor): Tensor => dispatch('silu', [x], {}),
  softmax: (x: Tensor, dim: number): Tensor => dispatch('softmax', [x], { dim }),
  logSoftmax: (x: Tensor, dim: number): Tensor => dispatch('logSoftmax', [x], { dim }),
  /** Normalizes over the trailing `normalizedShape` dims (biased variance), then scales and shifts. */
  layerNorm: (x: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor =>
    dispatch('layerNorm', [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])], {
      normalizedShape, eps, hasWeight: weight !== undefined, hasBias: bias !== undefined,
    }),
  /** x / sqrt(mean(x^2) + eps) over the trailing dims; eps defaults to float32's machine epsilon. */
  rmsNorm: (x: Tensor, normalizedShape: readonly number[], weight?: Tensor, eps?: number): Tensor =>
    dispatch('rmsNorm', weight ? [x, weight] : [x], { normalizedShape, eps: eps ?? null }),
  /** x @ weight^T + bias, with weight [out, in]. */
  linear: (x: Tensor, weight: Tensor, bias?: Tensor): Tensor => dispatch('linear', bias ? [x, weight, bias] : [x, weight], {}),
  /** Rows of `weight` [num, dim] picked by int32 `indices` of any shape: [...indices.shape, dim]. */
  embedding: (indices: Tensor, weight: Tensor): Tensor => dispatch('embedding', [indices, weight], {}),
  /** Zeroes each element with probability p and scales the rest by 1 / (1 - p); the input itself when not training. */
  dropout: (x: Tensor, p = 0.5, training = true): Tensor => dispatch('dropout', [x], { p, training }),
  /** softmax(q k^T * scale + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev]. */
  scaledDotProductAttention: (q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor =>
    dispatch('scaledDotProductAttention', options.attnMask ? [q, k, v, options.attnMask] : [q, k, v], {
      isCausal: options.isCausal ?? false, scale: options.scale ?? null,
    }),
  /** Mean (or sum, or per-row) of logsumexp(logits[n]) - logits[n, targets[n]] for logits [N, C], int32 targets [N]. */
  crossEntropy: (logits: Tensor, targets: Tensor, options: { reduction?: 'mean' | 'sum' | 'none' } = {}): Tensor =>
    dispatch('crossEntropy', [logits, targets], { reduction: options.reduction ?? 'mean' }),
};
