/**
 * The wasm target's thread pool: rows of the float32 gemm split across
 * worker threads, each with its own scratch, give exactly the one-thread
 * result (each row is computed by one thread in the same order), for sizes that leave a
 * partial last slice, and over many calls in a row (a worker that wakes
 * late must not run a slice of one call with the arguments of the next).
 */
import { F, type Tensor, tensor } from '@kiln/eager';
import {
  compileCached,
  ModuleBuilder,
  matmulModule,
  poolThreads,
  sharedArena,
  startCpuThreads,
  type ThreadPool,
  WasmArena,
} from '@kiln/eager/kernels';
import { seededNormals } from '@kiln/eager/testing/wasm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileWasm, expectEager } from '../../testing/compile-wasm';
import { record } from '../../testing/record';

/** Scratch bytes per thread of the default gemm (6x8 tiles, KC 256, MC 120). */
const SCRATCH = 4 * (6 * 8 + 120 * 256);

/** C = A·B for row-major [M, K] x [K, N] on `arena`, with `pool` splitting rows (or on this thread without one). */
function gemm(arena: WasmArena, pool: ThreadPool | undefined, M: number, N: number, K: number, seed: number): Float32Array {
  arena.reset();
  const module = matmulModule();
  const a = arena.put(seededNormals(M * K, seed));
  const b = arena.put(seededNormals(K * N, seed + 1));
  const packed = arena.alloc(Math.ceil(N / 8) * 8 * K);
  const c = arena.alloc(M * N);
  const scratch = arena.alloc((SCRATCH / 4) * (pool?.threads ?? 1));
  arena.kernel(module, 'packB')(packed, b, K, N, N, 1, Math.ceil(N / 8));
  const run = arena.kernel(module, 'gemm');
  const args = [a, K, 1, packed, c, N, M, N, K, 0, scratch, 0];
  const perRow = args.map((_, j) => (j === 0 ? 4 * K : j === 4 ? 4 * N : 0));
  const perThread = args.map((_, j) => (j === 10 ? SCRATCH : 0));
  if (pool) pool.run(run, module, 'gemm', { rows: M, base: args, perRow, perThread, rowsArg: 6, multiple: 6 });
  else run(...args);
  return arena.f32(c, M * N).slice();
}

describe('the wasm thread pool', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('splits gemm rows over 3 threads with the one-thread result, partial slices included', () => {
    vi.stubEnv('KILN_CPU_THREADS', '3');
    const arena = new WasmArena();
    const pool = arena.threads();
    expect(pool?.threads).toBe(3);
    for (const [M, N, K] of [
      [64, 40, 33],
      [37, 9, 70],
      [8, 5, 3],
      [203, 17, 16],
    ] as const) {
      expect(gemm(arena, pool, M, N, K, M)).toEqual(gemm(arena, undefined, M, N, K, M));
    }
  });

  it('gives every call its own arguments over 300 calls in a row', () => {
    vi.stubEnv('KILN_CPU_THREADS', '2');
    const arena = new WasmArena();
    const pool = arena.threads();
    expect(pool?.threads).toBe(2);
    for (let call = 0; call < 300; call++) {
      const [M, N, K] = [8 + (call % 23), 4 + (call % 7), 2 + (call % 5)];
      const want = gemm(arena, undefined, M, N, K, call);
      expect(gemm(arena, pool, M, N, K, call), `call ${call}`).toEqual(want);
    }
    // The worker ran slices (it may start after the first calls: until then the caller takes every slice).
    for (const t0 = performance.now(); pool!.workerSlices() === 0 && performance.now() - t0 < 10_000; ) gemm(arena, pool, 203, 17, 16, 1);
    expect(pool!.workerSlices()).toBeGreaterThan(0);
  });

  it('fails a call whose kernel traps on any thread, after every slice is done, and runs the next call', () => {
    vi.stubEnv('KILN_CPU_THREADS', '2');
    // run(first, count): traps on every slice but the first, so both the caller's and a worker's slices may trap.
    const mod = new ModuleBuilder();
    const c = mod.func(['i32', 'i32'], [], 'run');
    c.get(0).i32(0).op('i32.gt_s');
    c.ifElse(() => c.op('unreachable'));
    const module = compileCached('thread-pool trap test', () => mod.toBytes());
    const arena = new WasmArena();
    const pool = arena.threads()!;
    const trap = arena.kernel(module, 'run');
    for (let call = 0; call < 20; call++) {
      expect(() => pool.run(trap, module, 'run', { rows: 64, base: [0, 64], perRow: [1, 0], rowsArg: 1, multiple: 1 })).toThrow();
    }
    expect(gemm(arena, pool, 40, 12, 9, 1)).toEqual(gemm(arena, undefined, 40, 12, 9, 1));
  });

  it('is not made when one thread is asked for, and says how many threads the target has', () => {
    vi.stubEnv('KILN_CPU_THREADS', '1');
    expect(new WasmArena().threads()).toBeUndefined();
    expect(poolThreads()).toBe(1);
    vi.stubEnv('KILN_CPU_THREADS', 'two');
    expect(() => poolThreads()).toThrow("KILN_CPU_THREADS must be a positive integer, got 'two'");
  });

  it("startCpuThreads resolves once the shared pool's workers run, with the number of threads", async () => {
    vi.stubEnv('KILN_CPU_THREADS', '2');
    const threads = await startCpuThreads();
    const pool = sharedArena().threads()!;
    expect(threads).toBe(pool.threads);
    expect(pool.started()).toBe(pool.threads - 1);
  });
});

describe('compiled cpu graphs on the thread pool', () => {
  it('split pointwise, row and matmul kernels over 2 threads and give eager results', async () => {
    vi.stubEnv('KILN_CPU_THREADS', '2'); // before this file's first kernel makes the target's pool
    const fn = (x: Tensor, w: Tensor) => [
      F.gelu(x.mul(1.5).add(0.5)).mul(x.sigmoid()),
      F.softmax(x, -1),
      F.layerNorm(x, [300]),
      x.matmul(w).tanh(),
    ];
    const graph = record(
      [
        { shape: [301, 300], dtype: 'float32', device: 'cpu' },
        { shape: [300, 70], dtype: 'float32', device: 'cpu' },
      ],
      fn,
    );
    const compiled = compileWasm(graph);
    expect(compiled.kernels.map((k) => k.source).join('\n')).toContain('split over 2 threads');
    await expectEager(compiled, graph, [
      tensor(seededNormals(301 * 300, 5)).reshape([301, 300]),
      tensor(seededNormals(300 * 70, 6)).reshape([300, 70]),
    ]);
  });
});
