/**
 * What the wasm renderers give the target for one kernel: a summary for its
 * report, and how to build it into a launch over the arena. A launch takes
 * the byte offsets of the kernel's staged buffers (outputs, then inputs)
 * and the call's dynamic sizes.
 */
import type { WasmArena } from './arena';
import { compileCached } from './module-cache';

export type WasmLaunch = (pointers: readonly number[], syms: readonly number[]) => void;

export interface RenderedWasm {
  /** How the kernel reads its inputs, for its report. */
  readonly summary: string;
  /** Compiles its modules (cached under `key`, which names everything they depend on) and instantiates them on `arena`. */
  build(key: string, arena: WasmArena): WasmLaunch;
}

/**
 * A kernel that is one module exporting `run(pointers..., args...)`;
 * `args` gives the scalars after the pointers for a call's dynamic sizes,
 * null when there is nothing to compute.
 */
export function oneModule(bytes: Uint8Array, summary: string, args: (syms: readonly number[]) => number[] | null): RenderedWasm {
  return {
    summary,
    build: (key, arena) => {
      const run = arena.kernel(
        compileCached(key, () => bytes),
        'run',
      );
      return (pointers, syms) => {
        const scalars = args(syms);
        if (scalars) run(...pointers, ...scalars);
      };
    },
  };
}
