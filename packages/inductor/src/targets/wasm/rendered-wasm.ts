/**
 * What the wasm renderers give the target for one kernel: a summary for its
 * report, and how to build it into a launch over the arena. A launch takes
 * the byte offsets of the kernel's staged buffers (outputs, then inputs)
 * and the call's dynamic sizes.
 */
import type { WasmArena } from '@kiln/eager/kernels';
import { compileCached, poolThreads, runSplit } from '@kiln/eager/kernels';

export type WasmLaunch = (pointers: readonly number[], syms: readonly number[]) => void;

export interface RenderedWasm {
  /** How the kernel reads its inputs, for its report. */
  readonly summary: string;
  /** Compiles its modules (cached under `key`, which names everything they depend on) and instantiates them on `arena`. */
  build(key: string, arena: WasmArena): WasmLaunch;
}

/**
 * A kernel that is one module exporting `run(pointers..., first, count,
 * rest...)` over `count` units of work (elements, or rows) from `first`:
 * `work` gives, for a call's dynamic sizes, the units and the scalars
 * after them (null when there is nothing to compute). Calls of at least
 * THREADED_ELEMENTS elements (`elementsPerUnit` each) run as slices on the
 * arena's threads, each a multiple of `multiple` units.
 */
export function slicedModule(
  bytes: Uint8Array,
  summary: string,
  work: (syms: readonly number[]) => { units: number; elementsPerUnit: number; rest: number[] } | null,
  multiple: number,
): RenderedWasm {
  return {
    summary: `${summary}${poolThreads() > 1 ? `; split over ${poolThreads()} threads from ${THREADED_ELEMENTS} elements` : ''}`,
    build: (key, arena) => {
      const module = compileCached(key, () => bytes);
      const run = arena.kernel(module, 'run');
      const threads = arena.threads();
      let perRow: number[] | undefined; // the same for every call of the kernel (its argument count is fixed)
      return (pointers, syms) => {
        const w = work(syms);
        if (!w) return;
        const base = [...pointers, 0, w.units, ...w.rest];
        // A slice starting at unit f takes `first` = f; pointers and sizes are the same for every slice.
        perRow ??= base.map((_, j) => (j === pointers.length ? 1 : 0));
        const split = { rows: w.units, base, perRow, rowsArg: pointers.length + 1, multiple };
        runSplit(threads, run, module, 'run', split, w.units * w.elementsPerUnit >= THREADED_ELEMENTS);
      };
    },
  };
}

/** Elements below which a kernel stays on the calling thread (waking the workers costs tens of microseconds). */
const THREADED_ELEMENTS = 1 << 16;
