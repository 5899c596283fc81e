/**
 * @kiln/inductor: captured graphs -> decompositions -> loop IR -> fusion ->
 * WGSL (webgpu) or JS (cpu) kernels -> a compiled graph with planned
 * buffers. See DESIGN.md, "Inductor".
 */

export type { InductorOptions } from './compile';
export { compileGraph } from './compile';
export { NotCompiled } from './errors';
export type { KernelReport } from './runtime/compiled-graph';
export { CompiledGraph } from './runtime/compiled-graph';
