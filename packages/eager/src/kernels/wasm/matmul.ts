/**
 * Running the wasm matmul over Float32Arrays: operands copied into an
 * arena, B packed into panels, `gemm` called, C read back. Allocates from
 * the caller's arena (the caller resets it).
 */
import type { WasmArena } from './arena';
import { DEFAULT_MATMUL, type MatmulConfig, matmulModule } from './matmul-kernel';

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
  /** Initial C [M, N] (C += A·B); zeros when absent. */
  c?: Float32Array;
}

/** C = epilogue(C + A·B + bias) as a new row-major [M, N] array. */
export function matmulWasm(arena: WasmArena, args: MatmulArgs, cfg: MatmulConfig = DEFAULT_MATMUL): Float32Array {
  const { a, b, M, N, K } = args;
  if (a.length !== M * K || b.length !== K * N) throw new Error(`matmul operands do not match [${M}, ${K}] x [${K}, ${N}]`);
  if (cfg.bias !== (args.bias !== undefined)) throw new Error('bias given without a bias config, or missing');
  const module = matmulModule(cfg);
  const panels = Math.ceil(N / cfg.nr);
  const pa = arena.put(a);
  const pb = arena.put(b);
  const packed = arena.alloc(panels * cfg.nr * K);
  const pc = arena.alloc(M * N);
  arena.f32(pc, M * N).set(args.c ?? new Float32Array(M * N));
  // Bias padded to whole panels: the last tile reads (and ignores) the padding.
  const pbias = arena.alloc(panels * cfg.nr);
  if (args.bias) arena.f32(pbias, N).set(args.bias);
  const scratch = arena.alloc(cfg.mr * cfg.nr + cfg.mc * cfg.kc);
  arena.kernel(module, 'packB')(packed, pb, K, N, N);
  arena.kernel(module, 'gemm')(pa, K, packed, pc, N, M, N, K, pbias, scratch);
  return arena.f32(pc, M * N).slice();
}
