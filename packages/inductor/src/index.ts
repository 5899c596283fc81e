/**
 * @kiln/inductor: captured graphs -> decompositions -> loop IR -> fusion ->
 * kernels for the device's target (WGSL on webgpu, JS on cpu) -> a compiled
 * graph with planned buffers. See the package README.
 */

export type { CompileStages, InductorOptions } from './compile';
export { compileGraph, compileMode, formatStages } from './compile';
export { NotCompiled } from './errors';
// The marker sizes dynamic dims are traced with (reports find symbolic sizes the same way).
export { markerOf } from './ir/size';
export type { KernelReport } from './runtime/compiled-graph';
export { CompiledGraph } from './runtime/compiled-graph';
export type { CompileMode } from './targets/target';
export { autotuned, autotuneTesting } from './targets/webgpu/autotune';
