/**
 * @kiln/eager: a PyTorch-like eager tensor library on cpu and webgpu, its
 * op table and dispatcher (with the mode hook a tracer uses) and the
 * op-level graph IR. See DESIGN.md, "Eager API".
 */
export { DeviceLimitError, KilnError, OutOfMemoryError } from '@kiln/gpu-runtime';
export { Tensor } from './tensor';
export type { Dims, NestedArray } from './tensor';
export { tensor, zeros, ones, full, arange, rand, randn, setDefaultDevice, getDefaultDevice } from './creation';
export type { CreateOptions } from './creation';
export { cat, stack, where, matmul, split } from './functions';
export { F } from './functional';
export type { AttentionOptions } from './functional';
export { tidy, memoryStats, metaStorage, allocStorage } from './memory';
export type { MemoryStats } from './memory';
export { manualSeed, philox4x32, philoxFill, PHILOX_WGSL, takeRandom } from './random';

// The op-level graph IR (built by the tracer, consumed by the inductor; runGraph is the 'eager' backend).
export { Graph, runGraph, isNode } from './graph';
export type { Arg, CallNode, Node, OutputNode, PlaceholderNode, ValueNode } from './graph';

// The dispatcher and its mode hook (the tracer), the op table (the inductor).
export { dispatch, execute, getMode, setMode, withMode } from './dispatch';
export type { Input, Mode } from './dispatch';
export { OPS, inferMeta, reduceDims, reducedShape, isMeta } from './ops/table';
export type {
  AttrsOf, CompositeAttrs, CompositeOp, InputMeta, NoAttrs, OpDef, OpKind, OpName, ReduceAttrs, TensorMeta, VarAttrs,
} from './ops/table';
export { ELEMENTWISE, UNARY, BINARY, HELPERS, elementwiseTypes, helpersFor, jsConvert } from './ops/elementwise';
export type { BinaryOp, ElementwiseOp, ElementwiseSpec, ElementwiseTypes, Render, TypeRule, UnaryOp } from './ops/elementwise';
export { REDUCTIONS } from './ops/reductions';
export type { ReduceOp, ReduceRender, ReduceSpec } from './ops/reductions';
export { MOVEMENT, movementShape } from './ops/movement';
export type { MovementAttrs, MovementOp, MovementRule } from './ops/movement';
export { DECOMPOSITIONS } from './ops/decompositions';
export type { Decomposition } from './ops/decompositions';

// Devices: the seam a backend fills.
export { registerBackend, getBackend, hasBackend, isTensorRef } from './backend';
export type { Device, DeviceBackend, Operand, RandomDist, ScalarRef, Storage, TensorRef } from './backend';
export { cpuBackend } from './backend-cpu';

// Shared vocabulary.
export { DTYPES, promoteTypes, resultType, scalarDtype, allocArray, castScalar } from './dtype';
export type { DType, Scalar, TypedArray, TypedArrayOf } from './dtype';
export * as views from './view';
export type { View } from './view';
export { LruCache } from '@kiln/gpu-runtime';

// The webgpu device: init, and the kernel templates the compiler shares.
export { initWebGpu, webGpuBackend } from './backend-webgpu';
export type { GpuStorage, WebGpuOptions } from './backend-webgpu';
export { DEFAULT_TILES, planMatmul, renderMatmulTemplate } from './backend-webgpu/matmul-kernel';
export type { MatmulLaunch, MatmulTemplate, MatmulTile, MatmulVariant } from './backend-webgpu/matmul-kernel';
export * as wgsl from './wgsl';
export { reductionStatements } from './backend-webgpu/reduce-statements';
export type { ReductionStatements } from './backend-webgpu/reduce-statements';
