/**
 * Running the wasm matmul (./matmul-kernel) on matrices in an arena: B
 * packed into panels, then `gemm` with C's rows split over the arena's
 * threads, each thread with its own scratch (an element's sum does not
 * depend on the split). Allocates from the caller's arena (the caller
 * resets it). `matmulWasm` does the same for Float32Arrays (tests,
 * benchmarks).
 */
import type { WasmArena } from './arena';
import { DEFAULT_MATMUL, type MatmulConfig, matmulModule } from './matmul-kernel';
import { runSplit } from './thread-pool';

/** A matrix in the arena: its first element's byte offset and its row and column strides in elements. */
export interface ArenaMatrix {
  ptr: number;
  strides: readonly [number, number];
}

export interface GemmCall {
  a: ArenaMatrix;
  b: ArenaMatrix;
  /** Byte offset of C, row-major [M, N]. */
  c: number;
  M: number;
  N: number;
  K: number;
  /** Byte offset of N bias floats, padded to whole panels, when the config has `bias`. */
  bias?: number;
  /** C += A·B instead of C = A·B. */
  accumulate?: boolean;
}

/** Multiply-adds below which a matmul stays on the calling thread (waking the workers costs tens of microseconds). */
const THREADED_WORK = 1 << 18;

/** Elements of B below which it is packed on the calling thread. */
const THREADED_PACK = 1 << 16;

/** Floats of packed B for N columns and K rows. */
const packedFloats = (cfg: MatmulConfig, N: number, K: number) => Math.ceil(N / cfg.nr) * cfg.nr * K;

export function gemm(arena: WasmArena, call: GemmCall, cfg: MatmulConfig = DEFAULT_MATMUL): void {
  const { a, b, c, M, N, K } = call;
  if (M * N === 0) return;
  if (cfg.bias !== (call.bias !== undefined)) throw new Error('bias given without a bias config, or missing');
  const module = matmulModule(cfg);
  const pool = arena.threads();
  const packed = arena.alloc(packedFloats(cfg, N, K));
  // Panels split over the threads: a slice from panel p writes from panel p, reads from column p·NR, and sees N less those columns.
  const panels = Math.ceil(N / cfg.nr);
  const pack = { rows: panels, base: [packed, b.ptr, K, N, b.strides[0], b.strides[1], panels], rowsArg: 6, multiple: 1 };
  const perPanel = [4 * cfg.nr * K, 4 * cfg.nr * b.strides[1], 0, -cfg.nr, 0, 0, 0];
  runSplit(pool, arena.kernel(module, 'packB'), module, 'packB', { ...pack, perRow: perPanel }, K * N >= THREADED_PACK);
  const scratchBytes = 16 * Math.ceil((cfg.mr * cfg.nr + cfg.mc * cfg.kc) / 4);
  const scratch = arena.alloc((scratchBytes / 4) * (pool?.threads ?? 1));
  const base = [a.ptr, a.strides[0], a.strides[1], packed, c, N, M, N, K, call.bias ?? 0, scratch, call.accumulate ? 1 : 0];
  // A slice of rows from f reads A from row f and writes C from row f; thread t uses scratch t.
  const perRow = base.map((_, j) => (j === 0 ? 4 * a.strides[0] : j === 4 ? 4 * N : 0));
  const perThread = base.map((_, j) => (j === 10 ? scratchBytes : 0));
  const split = { rows: M, base, perRow, perThread, rowsArg: 6, multiple: cfg.mr };
  runSplit(pool, arena.kernel(module, 'gemm'), module, 'gemm', split, M * N * K >= THREADED_WORK);
}

export interface MatmulArgs {
  /** Row-major [M, K]. */
  a: Float32Array;
  /** Row-major [K, N]. */
  b: Float32Array;
  M: number;
  N: number;
  K: number;
  /** [N], added along rows when the config has `bias`. */
  bias?: Float32Array;
  /** Initial C [M, N] (C += A·B); C = A·B when absent. */
  c?: Float32Array;
}

/** C = epilogue([C +] A·B + bias) as a new row-major [M, N] array. */
export function matmulWasm(arena: WasmArena, args: MatmulArgs, cfg: MatmulConfig = DEFAULT_MATMUL): Float32Array {
  const { a, b, M, N, K } = args;
  if (a.length !== M * K || b.length !== K * N) throw new Error(`matmul operands do not match [${M}, ${K}] x [${K}, ${N}]`);
  matmulModule(cfg); // a config it cannot generate throws, whatever the sizes
  const pa = arena.put(a);
  const pb = arena.put(b);
  const pc = arena.alloc(M * N);
  if (args.c) arena.f32(pc, M * N).set(args.c);
  // Bias padded to whole panels: the last tile reads (and ignores) the padding.
  const pbias = args.bias ? arena.alloc(packedFloats(cfg, N, 1)) : undefined;
  if (args.bias && pbias !== undefined) arena.f32(pbias, N).set(args.bias);
  const call = { a: { ptr: pa, strides: [K, 1] as const }, b: { ptr: pb, strides: [N, 1] as const }, c: pc, M, N, K };
  gemm(arena, { ...call, ...(pbias !== undefined && { bias: pbias }), accumulate: args.c !== undefined }, cfg);
  return arena.f32(pc, M * N).slice();
}
