/**
 * `F`: the functional ops of torch.nn.functional. Each is one dispatched op
 * (a composite the compiler decomposes), so a tracer records `softmax`,
 * not its pieces.
 */
import { check, checkArg, checkOptions } from './checks';
import { dispatch } from './dispatch';
import { geluAttrs, Tensor } from './tensor';

/** An optional tensor argument (weight, bias, attnMask): a Tensor, or undefined / null for none. */
const OPTIONAL_TENSOR = check<Tensor | undefined | null>(
  'a Tensor, undefined or null',
  (v) => v === undefined || v === null || v instanceof Tensor,
);

/** The given optional tensors, in order, after checking each names a Tensor or nothing. */
function present(op: string, optional: Record<string, unknown>): Tensor[] {
  return Object.entries(optional).flatMap(([name, v]) => (checkArg(op, name, v, OPTIONAL_TENSOR) ? [v as Tensor] : []));
}

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
  gelu: (x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor => dispatch('gelu', [x], geluAttrs(options)),
  silu: (x: Tensor): Tensor => dispatch('silu', [x], {}),
  softmax: (x: Tensor, dim: number): Tensor => dispatch('softmax', [x], { dim }),
  logSoftmax: (x: Tensor, dim: number): Tensor => dispatch('logSoftmax', [x], { dim }),
  /** Normalizes over the trailing `normalizedShape` dims (biased variance), then scales and shifts. */
  layerNorm: (x: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor => {
    const params = present('layerNorm', { weight, bias });
    return dispatch('layerNorm', [x, ...params], { normalizedShape, eps, hasWeight: weight != null, hasBias: bias != null });
  },
  /** x / sqrt(mean(x^2) + eps) over the trailing dims; eps defaults to float32's machine epsilon. */
  rmsNorm: (x: Tensor, normalizedShape: readonly number[], weight?: Tensor, eps?: number): Tensor =>
    dispatch('rmsNorm', [x, ...present('rmsNorm', { weight })], { normalizedShape, eps: eps ?? null }),
  /** x @ weight^T + bias, with weight [out, in]. */
  linear: (x: Tensor, weight: Tensor, bias?: Tensor): Tensor => dispatch('linear', [x, weight, ...present('linear', { bias })], {}),
  /** Rows of `weight` [num, dim] picked by int32 `indices` of any shape: [...indices.shape, dim]. */
  embedding: (indices: Tensor, weight: Tensor): Tensor => dispatch('embedding', [indices, weight], {}),
  /** Zeroes each element with probability p and scales the rest by 1 / (1 - p); the input itself when not training. */
  dropout: (x: Tensor, p = 0.5, training = true): Tensor => dispatch('dropout', [x], { p, training }),
  /** softmax(q k^T * scale + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev]. */
  scaledDotProductAttention: (q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor => {
    const op = 'scaledDotProductAttention';
    const o = checkOptions(op, options, ['attnMask', 'isCausal', 'scale']);
    return dispatch(op, [q, k, v, ...present(op, { attnMask: o.attnMask })], {
      isCausal: (o.isCausal ?? false) as boolean,
      scale: (o.scale ?? null) as number | null, // attributes are checked by dispatch
    });
  },
  /** Mean (or sum, or per-row) of logsumexp(logits[n]) - logits[n, targets[n]] for logits [N, C], int32 targets [N]. */
  crossEntropy: (logits: Tensor, targets: Tensor, options: { reduction?: 'mean' | 'sum' | 'none' } = {}): Tensor => {
    const o = checkOptions('crossEntropy', options, ['reduction']);
    return dispatch('crossEntropy', [logits, targets], { reduction: (o.reduction ?? 'mean') as 'mean' | 'sum' | 'none' });
  },
};
