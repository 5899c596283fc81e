/// <reference types="@webgpu/types" preserve="true" />
// GPUDevice, GPUBuffer, ... in kiln's declarations are the WebGPU types of @webgpu/types.
export { BindGroupCache } from './bind-group-cache';
export type { PoolOptions, PoolStats } from './buffer-pool';
export { BufferPool, sizeClass } from './buffer-pool';
export type { Workgroups } from './command-batcher';
export { CommandBatcher } from './command-batcher';
export type { AcquiredDevice, AdapterDescription, OptionalFeature } from './device';
export { acquireDevice, gpuEntry, NoAdapterError, OPTIONAL_FEATURES, openDevice } from './device';
export { assertSite, assertWgsl, indexError } from './device-asserts';
export type { MemoryFigures } from './errors';
export { DeviceLimitError, DeviceMemoryError, formatBytes, KilnError, OutOfMemoryError } from './errors';
export { type LogTopic, log, logEnabled } from './log';
export { LruCache } from './lru';
export type { HostMemory } from './memory-budget';
export { BUDGET_ENV, budgetFor, hostMemory, parseBudget } from './memory-budget';
export { nodeBuiltin } from './node-builtin';
export type { CaptureErrors, PipelineKey, PipelineVerdict } from './pipeline-cache';
export { codeFrame, PipelineCache } from './pipeline-cache';
export type { WebGpuProbe } from './probe';
export { probeWebGpu } from './probe';
export type { KernelTime, ProfileReport } from './profiler';
export type { Binding } from './runtime';
export { currentRuntime, GpuRuntime, getRuntime, STORAGE_USAGE } from './runtime';
export { adapterKey, tuningCache } from './tuning-cache';
