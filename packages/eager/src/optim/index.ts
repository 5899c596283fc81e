/** `optim`: optimizers (PyTorch's torch.optim). */
export type { AdamWOptions } from './adamw';
export { AdamW } from './adamw';
export { Optimizer } from './optimizer';
export type { SgdOptions } from './sgd';
export { SGD } from './sgd';
