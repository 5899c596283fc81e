/**
 * @kiln/eager: a PyTorch-like eager tensor library on cpu and webgpu, its
 * op table and dispatcher (with the mode hook a tracer uses) and the
 * op-level graph IR. See docs/API.md and the package README.
 */
export { DeviceLimitError, KilnError, LruCache, OutOfMemoryError } from '@kiln/gpu-runtime';
// Autograd: grad mode, the functional form, and the rule table (for the compiler's backward graphs).
export type { BackwardOptions } from './autograd/backward';
// What the compiler builds compiled training on: the engine's seeds and checks, nodes whose backward is a function, autograd state.
export { backwardFrom, checkedGradient, checkGradient, noGradError } from './autograd/backward';
export type { FunctionBackward } from './autograd/function-node';
export { FunctionNode, FunctionOutput } from './autograd/function-node';
export type { Argnums, GradOptions } from './autograd/functional';
export { grad, valueAndGrad } from './autograd/functional';
export { enableGrad, isGradEnabled, noGrad, withGradMode } from './autograd/grad-mode';
export type { Edge, ViewOp, ViewStep, VjpContext } from './autograd/node';
export { BackwardNode, GradNode, LeafEdge } from './autograd/node';
export { runRecorded } from './autograd/record';
export type { NotDifferentiable, Saves, VjpEntry, VjpRule } from './autograd/rules';
export { NOT_DIFFERENTIABLE, VJP } from './autograd/rules';
export { edgeOf, getGrad, setGrad, setGradFn, viewNodes } from './autograd/state';
export type { Device, DeviceBackend, Operand, RandomDist, ScalarRef, Storage, TensorRef } from './backend';
// Devices: the seam a backend fills.
export { getBackend, hasBackend, isTensorRef, registerBackend } from './backend';
export { cpuBackend } from './backend-cpu';
export type { WebGpuOptions } from './backend-webgpu';
// The webgpu device (the kernel templates the compiler shares are @kiln/eager/kernels).
export { initWebGpu, webGpuBackend } from './backend-webgpu';
export type { CreateOptions, RandomOptions } from './creation';
export { arange, full, getDefaultDevice, ones, rand, randn, setDefaultDevice, tensor, zeros } from './creation';
export type { Input, Mode } from './dispatch';
// The dispatcher and its mode hook (the tracer), the op table (the inductor).
export { checkWritable, dispatch, execute, getMode, setMode, withMode } from './dispatch';
export type { DType, Scalar, TypedArray, TypedArrayOf } from './dtype';
// Shared vocabulary.
export { allocArray, castScalar, DTYPES, promoteTypes, resultType, scalarDtype } from './dtype';
export type { AttentionOptions } from './functional';
export { F } from './functional';
export { cat, matmul, split, stack, where } from './functions';
export type { Arg, CallNode, DynamicDims, Node, OutputNode, PlaceholderNode, RunGraphOptions, ValueNode } from './graph';
// The op-level graph IR (built by the tracer, consumed by the inductor; runGraph is the 'eager' backend and the fallback).
export { Graph, isNode, runGraph } from './graph';
export { startCpuThreads } from './kernels/wasm/arena';
export type { MemoryStats } from './memory';
export { allocStorage, keep, memoryStats, metaStorage, storagesMade, tidy } from './memory';
// Training: modules and optimizers (PyTorch's torch.nn and torch.optim).
export * as nn from './nn';
export type { Decomposition } from './ops/decompositions';
export { DECOMPOSITIONS } from './ops/decompositions';
export type { BinaryOp, ElementwiseOp, ElementwiseSpec, ElementwiseTypes, Render, TypeRule, UnaryOp } from './ops/elementwise';
export { BINARY, ELEMENTWISE, elementwiseTypes, HELPERS, helpersFor, jsConvert, UNARY } from './ops/elementwise';
export type { MovementAttrs, MovementOp, MovementRule } from './ops/movement';
export { MOVEMENT, movementShape } from './ops/movement';
export type { ReduceOp, ReduceRender, ReduceSpec } from './ops/reductions';
export { REDUCTIONS } from './ops/reductions';
export type {
  AttrsOf,
  CompositeAttrs,
  CompositeOp,
  InputMeta,
  NoAttrs,
  OpDef,
  OpKind,
  OpName,
  ReduceAttrs,
  TensorMeta,
  VarAttrs,
} from './ops/table';
export { inferMeta, isMeta, OPS, reduceDims, reducedShape } from './ops/table';
export * as optim from './optim';
export { manualSeed, PHILOX_WGSL, philox4x32, philoxFill, takeRandom } from './random';
export type { InputDim, SizeOf, SymbolicAttr, SymbolicFields, SymbolicSize } from './symbolic-size';
export { argsAt, attrsAt, evalSize, sizeKeyText, sizeText } from './symbolic-size';
export type { Dims, NestedArray } from './tensor';
export { format, Tensor } from './tensor';
export type { View } from './view';
export * as views from './view';
export * as wgsl from './wgsl';
