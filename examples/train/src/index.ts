/** The training example: a character transformer, its data, its training loop and the loss chart. */
export type { TransformerConfig } from './char-transformer';
export { CharTransformer } from './char-transformer';
export type { Batch, Corpus } from './data';
export { batches, loadCorpus } from './data';
export { lossChartSvg } from './loss-chart';
export type { TrainOptions } from './train';
export { LOSS_RTOL, SIZES, train } from './train';
