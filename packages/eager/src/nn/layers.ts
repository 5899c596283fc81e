/**
 * The layers of PyTorch's `nn` that kiln's models use, initialized as
 * PyTorch initializes them (from kiln's Philox stream, so the same seed
 * gives the same weights on every device).
 */
import type { Device } from '../backend';
import { BOOL, check, checkArg, checkOptions, DEVICE, NUMBER, POSITIVE_INT } from '../checks';
import { getDefaultDevice, ones, rand, randn, zeros } from '../creation';
import { F } from '../functional';
import type { Tensor } from '../tensor';
import { Module, parameter } from './module';

/** Uniform on [-bound, bound): PyTorch's default for Linear's weight and bias (bound 1 / sqrt(in)). */
const uniform = (shape: readonly number[], bound: number, device: Device) => () =>
  rand(shape, { device })
    .mul(2 * bound)
    .sub(bound);

function deviceOf(op: string, device: unknown): Device {
  return device === undefined ? getDefaultDevice() : checkArg(op, 'device', device, DEVICE);
}

/** y = x Wᵀ + b with W [out, in], b [out] (PyTorch's `nn.Linear`). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean; device?: Device } = {}) {
    super();
    checkArg('Linear', 'inFeatures', inFeatures, POSITIVE_INT);
    checkArg('Linear', 'outFeatures', outFeatures, POSITIVE_INT);
    const o = checkOptions('Linear', options, ['bias', 'device']);
    const device = deviceOf('Linear', o.device);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = parameter(uniform([outFeatures, inFeatures], bound, device));
    this.bias = (o.bias === undefined ? true : checkArg('Linear', 'bias', o.bias, BOOL))
      ? parameter(uniform([outFeatures], bound, device))
      : null;
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias ?? undefined);
  }
}

const SHAPE_OR_SIZE = check<number | readonly number[]>(
  'a positive integer or a list of them',
  (v) => POSITIVE_INT.test(v) || (Array.isArray(v) && v.every((s) => POSITIVE_INT.test(s))),
);

/** Normalizes over the trailing `normalizedShape` dims, then scales by `weight` (ones) and shifts by `bias` (zeros). */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(
    normalizedShape: number | readonly number[],
    options: { eps?: number; elementwiseAffine?: boolean; bias?: boolean; device?: Device } = {},
  ) {
    super();
    const shape = checkArg('LayerNorm', 'normalizedShape', normalizedShape, SHAPE_OR_SIZE);
    this.normalizedShape = typeof shape === 'number' ? [shape] : [...shape];
    const o = checkOptions('LayerNorm', options, ['eps', 'elementwiseAffine', 'bias', 'device']);
    this.eps = o.eps === undefined ? 1e-5 : checkArg('LayerNorm', 'eps', o.eps, NUMBER);
    const affine = o.elementwiseAffine === undefined ? true : checkArg('LayerNorm', 'elementwiseAffine', o.elementwiseAffine, BOOL);
    const withBias = o.bias === undefined ? true : checkArg('LayerNorm', 'bias', o.bias, BOOL);
    const device = deviceOf('LayerNorm', o.device);
    this.weight = affine ? parameter(() => ones(this.normalizedShape, { device })) : null;
    this.bias = affine && withBias ? parameter(() => zeros(this.normalizedShape, { device })) : null;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight ?? undefined, this.bias ?? undefined, this.eps);
  }
}

/** A lookup table of `numEmbeddings` vectors of size `embeddingDim`, initialized from N(0, 1). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options: { device?: Device } = {}) {
    super();
    checkArg('Embedding', 'numEmbeddings', numEmbeddings, POSITIVE_INT);
    checkArg('Embedding', 'embeddingDim', embeddingDim, POSITIVE_INT);
    const o = checkOptions('Embedding', options, ['device']);
    const device = deviceOf('Embedding', o.device);
    this.weight = parameter(() => randn([numEmbeddings, embeddingDim], { device }));
  }

  /** Rows of the table for int32 `indices` of any shape: [...indices.shape, embeddingDim]. */
  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight);
  }
}

const PROBABILITY = check<number>('a number in [0, 1]', (v) => typeof v === 'number' && v >= 0 && v <= 1);

/** Zeroes elements with probability `p` and scales the rest by 1 / (1 - p) while training; the identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = checkArg('Dropout', 'p', p, PROBABILITY);
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}
