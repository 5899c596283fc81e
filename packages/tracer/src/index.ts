/**
 * @kiln/tracer: `compile(fn)` captures what an eager tensor function does as
 * guarded graphs (TorchDynamo for TypeScript) and hands them to a backend
 * (the inductor by default), without ever changing what the function does.
 * See DESIGN.md, "Compile API".
 */

export type { Backend, BackendOption, CompiledFn, KernelInfo } from './backend';
export { CompileCounter, TracedGraph } from './backend';
export type { ClosureRecord } from './closure';
export type { AnyFunction, Compiled, CompiledExtras, CompileOptions, Module } from './compile';
export { compile, explain } from './compile';
export { disable } from './disable';
export type { BreakReason, ExplainGraph, ExplainReport } from './explain-report';
export type { ExplainNode } from './graph-nodes';
export { reportToHTML } from './report-html';
export type { ParamName, SideEffect, SideEffectKind, SourceInfo, SourceSite } from './source-analysis';
export { analyzeFunction, analyzeSource } from './source-analysis';
export type { CompileStats, Recompile } from './stats';
