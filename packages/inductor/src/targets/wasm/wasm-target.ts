/**
 * The WebAssembly SIMD target, for the cpu device: kernels as wasm modules
 * (f32x4) run over one WebAssembly.Memory — on the calling thread, with a
 * matmul's rows split over worker threads where the memory can be shared
 * (./thread-pool) — and any
 * kernel the wasm renderers cannot spell yet built by the JS target, so the
 * target takes every graph and a graph may mix the two (`fallback` says
 * which kernels, and why).
 *
 * Buffers are typed arrays, as the JS target's, so JS fallback kernels and
 * externs read them as they are. Eager's large float32 cpu storages and
 * this target's planned buffers are views into the shared arena memory
 * (views into a shared memory stay valid when it grows), and kernels take
 * their pointers as they are; any other array (small storages, or a memory
 * that cannot be shared) is copied in for the launch and a write copied back.
 */
import type { TypedArray } from '@kiln/eager';
import { dtypeOfArray, hostElementBytes, sharedArena, viewArray } from '@kiln/eager/kernels';
import type { GeneratedKernel } from '../../codegen/kernel';
import { jsTarget } from '../js/js-target';
import { renderJs } from '../js/render-js';
import { type KernelOptions, type Target, type TargetKernel, timed } from '../target';
import { NoWasmForm } from './no-wasm-form';
import { renderMatmul } from './render-matmul';
import { renderPointwise } from './render-pointwise';
import { renderRows } from './render-rows';
import type { RenderedWasm } from './rendered-wasm';

/** One memory for every graph: calls run one at a time on this thread, and each module is instantiated on it once. */
const arena = sharedArena();

function renderWasm(k: GeneratedKernel, symCount: number): RenderedWasm {
  switch (k.kind) {
    case 'pointwise':
      return renderPointwise(k, symCount);
    case 'rows':
      return renderRows(k, symCount);
    case 'matmul':
      return renderMatmul(k, symCount);
  }
}

/**
 * Runs `call` on the arena pointers of `reads` and `writes` (byte offsets,
 * writes first): an array that lives in the arena is used where it is, any
 * other is copied in (and a write copied back).
 */
function staged(reads: readonly TypedArray[], writes: readonly TypedArray[], call: (pointers: number[]) => void): void {
  arena.reset();
  const pointers: number[] = [];
  for (const w of writes) pointers.push(arena.owns(w) ? w.byteOffset : arena.alloc(w.length));
  for (const r of reads) pointers.push(arena.owns(r) ? r.byteOffset : arena.put(r as Float32Array));
  call(pointers);
  writes.forEach((w, k) => arena.owns(w) || arena.take(pointers[k]!, w as Float32Array));
}

/** Frees the arena blocks of compiled graphs' buffers that are dropped without being released (a graph the cache let go). */
const unreleased = new FinalizationRegistry<number>((at) => arena.free(at));

const JS = jsTarget();

const WASM_TARGET: Target<TypedArray> = {
  ...JS,
  name: 'wasm',
  builds: 'modules',
  compile(k: GeneratedKernel, options: KernelOptions): TargetKernel<TypedArray> {
    let rendered: RenderedWasm;
    try {
      rendered = renderWasm(k, options.symCount);
    } catch (error) {
      if (!(error instanceof NoWasmForm)) throw error;
      return { ...JS.compile(k, options), fallback: { target: JS.name, reason: error.reason } };
    }
    // The JS rendering names everything the module depends on (sizes, constants, indices): the cache key, and what reports show.
    const js = renderJs(k, options.symCount);
    const [name, body] = [js.slice(0, js.indexOf('\n')), js.slice(js.indexOf('\n') + 1)];
    const { value: launch, ms } = timed(() => rendered.build(`wasm:${body}`, arena));
    return {
      // The naming comment first, as the other targets' sources: identical kernels differ only there.
      source: `${name}\n// a wasm module (${rendered.summary}); the kernel as the JS target spells it:\n${body}`,
      buildMs: ms,
      launch: (reads, writes, { syms }) => staged(reads, writes, (pointers) => launch(pointers, syms)),
    };
  },
  // Planned buffers live in the arena, so kernels read and write them in place. A buffer holds
  // different dtypes over a call; the finalizer follows the view the graph holds.
  allocate(dtype, count, current) {
    const bytes = Math.max(16, count * hostElementBytes(dtype));
    let at: number;
    if (current && arena.owns(current) && arena.capacity(current) >= bytes) {
      if (current.length >= count && dtypeOfArray(current) === dtype) return current;
      at = current.byteOffset;
      unreleased.unregister(current);
    } else {
      if (current) WASM_TARGET.release(current);
      const block = arena.array(Math.ceil(bytes / 4));
      if (!block) return JS.allocate(dtype, count, undefined);
      at = block.byteOffset;
    }
    const view = viewArray(dtype, arena.buffer(), at, count);
    unreleased.register(view, at, view);
    return view;
  },
  release(buffer) {
    if (!arena.owns(buffer)) return;
    unreleased.unregister(buffer);
    arena.free(buffer.byteOffset);
  },
};

/** The wasm target (its state is the shared arena: every compiled graph shares it). */
export const wasmTarget = (): Target<TypedArray> => WASM_TARGET;
