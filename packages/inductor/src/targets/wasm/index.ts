/**
 * The WebAssembly SIMD target's kernels (issue 15). Wired into the Target
 * seam by ./wasm-target (the cpu device's target where the engine has
 * SIMD, see ../registry): pointwise, row and matmul kernels render to
 * wasm (./render-pointwise, ./render-rows, ./render-matmul); what they
 * cannot spell yet goes to the JS target, per kernel, and says so. Threads
 * (Node's worker_threads, and Web Workers in cross-origin isolated
 * pages), the shared gemm and arena-backed buffers are built (the
 * WebAssembly layer lives in @kiln/eager/kernels: eager's large float32 cpu
 * storages and the target's planned buffers are arrays in the shared
 * memory, read and written in place); what the plan below says of the
 * epilogue in gemm's registers, packed weights cached per storage version
 * and one module per graph is still to do.
 *
 * Wiring (docs/ARCHITECTURE.md, "Adding a target"). A `wasm-target.ts`
 * implementing `Target<WasmSlice>` (a slice: arena offset + length), and
 * `cpu`'s row in targets/registry.ts picking it when `WebAssembly.validate`
 * accepts a one-instruction SIMD module (else the JS target; `explain`
 * says which). `allocate`/`release` hand out slices of one WasmArena per
 * compiled graph (a free list over the bump allocator); `bufferOf` copies
 * an eager cpu storage in (later: eager cpu storages backed by the arena,
 * so nothing is copied) and `run` copies written inputs and outputs back.
 * `compile` maps each GeneratedKernel onto these templates: pointwise
 * bodies become a VExpr whose input loaders grow the index patterns the IR
 * has (contiguous, splat of a scalar, a row vector broadcast along rows,
 * strided gathers as a scalar loop; `syms`/`words` as i32 params); row
 * kernels become row-reduce or softmax, layerNorm a third template (mean
 * and variance in one pass, Welford per lane, then the normalizing pass);
 * matmul takes its fused tail as the epilogue, with packed weights cached
 * per storage version. A graph's kernels go into one module (one compile,
 * one instantiation, cached by their sources), so small graphs (W7) pay a
 * few wasm calls, not instantiations. Browsers compile with
 * `WebAssembly.compile` (main threads cap synchronous compiles at 4 KB).
 * targets/target.test.ts's counting test, copied, is its first test; then
 * compile.test, dynamic.test, special-values.test and `pnpm fuzz` run on it.
 *
 * Threads. ModuleBuilder already imports a shared memory. A pool of N-1
 * persistent workers (worker_threads in Node, Web Workers in
 * cross-origin-isolated pages, else one thread and `explain` says so)
 * instantiate the same modules on that memory. Kernels take a range
 * (elements, rows, or matmul M blocks: each thread packs its own A block
 * into its own scratch, B is packed once before the split). A control
 * block in the memory holds per worker a job word (kernel index, argument
 * slots, range); the caller stores the jobs, `Atomics.notify`s, runs its
 * own share, then waits on a countdown the workers decrement (Node:
 * `Atomics.wait`; a browser main thread cannot block, so it spins briefly
 * then yields with `Atomics.waitAsync`). Kernels below a work threshold
 * (~100k flops or elements) stay on the calling thread.
 */
export {
  type BinaryFn,
  bin,
  compileCached,
  constant,
  DEFAULT_MATMUL,
  geluErf,
  input,
  type MatmulConfig,
  matmulModule,
  matmulWasm,
  type UnaryFn,
  un,
  type VExpr,
  WasmArena,
} from '@kiln/eager/kernels';
export { pointwiseModule } from './pointwise';
export { type RowReduceOp, rowReduceModule } from './row-reduce';
export { softmaxModule } from './softmax';
