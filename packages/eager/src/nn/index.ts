/** `nn`: modules and layers (PyTorch's torch.nn). */
export { Dropout, Embedding, LayerNorm, Linear } from './layers';
export { Module } from './module';
