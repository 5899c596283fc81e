/**
 * @kiln/eager/kernels: the kernel templates eager's backends and the
 * compiler's renderers both build on (one piece of code each, with hooks
 * for what the compiler fuses in), and how a kernel reaches a storage's
 * memory.
 */

// How cpu storages' typed arrays are typed and laid out, for targets that plan buffers of their own.
export { dtypeOfArray, hostElementBytes, viewArray } from '../dtype';
export { JS_KERNEL_LIMIT, jsKernel, jsKernels } from './js-kernels';
export type { MatmulJsTemplate } from './matmul-js';
export { renderMatmulJs } from './matmul-js';
export type { MatmulChoice, MatmulDevice, MatmulLaunch, MatmulTemplate, MatmulTile, MatmulVariant } from './matmul-wgsl';
export {
  DEFAULT_TILES,
  describeTile,
  matmulCandidates,
  matmulDevice,
  matmulInfoWords,
  planMatmul,
  renderMatmulTemplate,
  sameTile,
} from './matmul-wgsl';
export { ELEMENT_THREADS, gridFor, kernelPrelude } from './prelude';
export type { KernelLang, ReductionNames, ReductionStatements, RowPass, RowStrategy, RowsTemplate } from './rows';
export {
  defaultRowStrategy,
  ROW_THREADS,
  ROW_WORKGROUP_THREADS,
  reductionStatements,
  renderRowsWgsl,
  rowGrid,
  rowPassLines,
  rowThreads,
} from './rows';
export type { GpuStorage, HostStorage } from './storage';
export { gpuBufferOf, hostDataOf } from './storage';
export * from './wasm/index';
