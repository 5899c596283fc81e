/**
 * @kiln/tracer: `compile(fn)` captures what an eager tensor function does as
 * guarded graphs (TorchDynamo for TypeScript) and hands them to a backend
 * (the inductor by default), without ever changing what the function does.
 * How a call runs, and which folder does what: ../README.md.
 */

export type { CompileMode } from '@kiln/inductor';
export { autotuned } from '@kiln/inductor';
export type { Backend, BackendOption, CompiledFn, KernelInfo } from './backend';
export { CompileCounter, TracedGraph } from './backend';
export type { CompileStats, EntryFailure, Recompile } from './cache/stats';
export { disable } from './capture/disable';
export type { AnyFunction, Compiled, CompiledExtras, CompileOptions, Module } from './compile';
export { compile, explain } from './compile';
export type { ClosureRecord } from './guards/closure';
export type { BreakReason, ExplainEntry, ExplainGraph, ExplainReport } from './report/explain-report';
export type { ExplainNode } from './report/graph-nodes';
export { reportToHTML } from './report/report-html';
export type { ParamName, SideEffect, SideEffectKind, SourceInfo, SourceSite } from './source/analysis';
export { analyzeFunction, analyzeSource } from './source/analysis';
