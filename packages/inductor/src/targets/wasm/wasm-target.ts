/**
 * The WebAssembly SIMD target, for the cpu device: kernels as wasm modules
 * (f32x4) run over one WebAssembly.Memory — on the calling thread, with a
 * matmul's rows split over worker threads where the memory can be shared
 * (./thread-pool) — and any
 * kernel the wasm renderers cannot spell yet built by the JS target, so the
 * target takes every graph and a graph may mix the two (`fallback` says
 * which kernels, and why).
 *
 * Buffers are the JS target's (eager's cpu typed arrays, planned
 * intermediates as typed arrays), and a wasm launch stages its operands
 * through the arena: inputs copied in, outputs copied back. The simplest
 * correct design: eager storages, JS fallback kernels and externs all keep
 * reading plain typed arrays, no view into the memory goes stale when it
 * grows, and a copy costs O(elements) against kernels that do at least that
 * much work (matmul far more). Arena-backed storages, which save the
 * copies, are the next step.
 */
import type { TypedArray } from '@kiln/eager';
import { sharedArena } from '@kiln/eager/kernels';
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

/** Runs `call` on arena copies of `reads` and `writes` (byte offsets, writes first) and copies the writes back. */
function staged(reads: readonly TypedArray[], writes: readonly TypedArray[], call: (pointers: number[]) => void): void {
  arena.reset();
  const pointers: number[] = [];
  for (const w of writes) pointers.push(arena.alloc(w.length));
  for (const r of reads) pointers.push(arena.put(r as Float32Array));
  call(pointers);
  for (let k = 0; k < writes.length; k++) arena.take(pointers[k]!, writes[k] as Float32Array);
}

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
};

/** The wasm target (its state is the shared arena: every compiled graph shares it). */
export const wasmTarget = (): Target<TypedArray> => WASM_TARGET;
