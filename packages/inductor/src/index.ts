/**
 * @kiln/inductor: captured graphs -> decompositions -> loop IR -> fusion ->
 * WGSL (webgpu) or JS (cpu) kernels -> a compiled graph with planned
 * buffers. See DESIGN.md, "Inductor".
 */

export type { CompileStages, InductorOptions } from './compile';
export { compileGraph, formatStages } from './compile';
export { NotCompiled } from './errors';
// The marker sizes dynamic dims are traced with (reports find symbolic sizes the same way).
export { markerOf } from './ir/size';
export type { KernelReport } from './runtime/compiled-graph';
export { CompiledGraph } from './runtime/compiled-graph';
