/**
 * The WebAssembly kernel layer: a module builder (typed instructions to
 * bytes), the shared memory and its arena, the thread pool, vector math,
 * and the float32 SIMD matmul that eager's cpu matmul and the compiler's
 * wasm target both run (so the two sum in the same order).
 */
export { type KernelFn, sharedArena, startCpuThreads, WasmArena } from './arena';
export { CPU_TARGET_ENV, cpuKernelKind } from './cpu-kernels';
export { FunctionBuilder } from './function-builder';
export { type ArenaMatrix, type GemmCall, gemm, type MatmulArgs, matmulWasm } from './matmul';
export { DEFAULT_MATMUL, type MatmulConfig, matmulModule } from './matmul-kernel';
export { hostFunction, ModuleBuilder } from './module-builder';
export { compileCached, compiledModuleCount, sourceKey } from './module-cache';
export type { PlainOp, SimdOp } from './opcodes';
export { relaxedMaddAvailable, simdAvailable } from './simd-probe';
export { poolThreads, type RowSplit, runSplit, type ThreadPool } from './thread-pool';
export { emitErf, emitExp, emitLog, emitSigmoid, emitTanh } from './vector-math';
export { arity, BINARY, type BinaryFn, bin, constant, emitVExpr, geluErf, input, UNARY, type UnaryFn, un, type VExpr } from './vexpr';
export type { HostMath, WasmModule } from './wasm-api';
