/**
 * The part of the WebAssembly JavaScript API the kernels use, typed here
 * because the packages compile against ES2023 without the DOM lib (which
 * is where TypeScript declares `WebAssembly`); Node and browsers both
 * provide it at runtime.
 */

import { HELPERS } from '../../ops/elementwise';

/** A compiled module (opaque). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` 64 KiB pages; returns the previous size in pages. */
  grow(pages: number): number;
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

interface WasmNamespace {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}

export const wasmApi: WasmNamespace = (globalThis as unknown as { WebAssembly: WasmNamespace }).WebAssembly;

/** 64 KiB, the unit memories grow by. */
export const WASM_PAGE_BYTES = 65536;

/** The largest wasm32 memory, in pages (4 GiB): a shared memory must declare its maximum. */
const MAX_PAGES = 65536;

/** Whether this engine can share a memory between threads (SharedArrayBuffer; in a browser, a cross-origin isolated page). */
const canShareMemory = (): boolean => {
  try {
    return (
      typeof SharedArrayBuffer !== 'undefined' &&
      new wasmApi.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer
    );
  } catch {
    return false;
  }
};

/**
 * The memory every kiln module imports and every arena makes: shared (so
 * worker threads can run kernels on it, ./thread-pool) wherever the engine
 * allows, else private. Modules and memories must agree on it.
 */
export const ARENA_MEMORY: { readonly minPages: number; readonly maxPages?: number; readonly shared?: boolean } = canShareMemory()
  ? { minPages: 1, maxPages: MAX_PAGES, shared: true }
  : { minPages: 1 };

/** A new memory of `pages` pages, as ARENA_MEMORY declares it. */
export const arenaMemory = (pages: number): WasmMemory =>
  new wasmApi.Memory(ARENA_MEMORY.shared ? { initial: pages, maximum: ARENA_MEMORY.maxPages, shared: true } : { initial: pages });

/** eager's float pow as a JS expression: the helper its JS template calls (kiln_pow), from its one source. */
const KILN_POW = `(() => {\n${HELPERS.kiln_pow!.js}\nreturn kiln_pow;\n})()`;
const kilnPow = new Function(`return ${KILN_POW};`)() as (a: number, b: number) => number;

/**
 * The host functions every kiln module imports (`env.sin`, ..., float64 in
 * and out, in this order): the kernels call them lane by lane for ops the
 * vector math has no form of, and so get JavaScript's values, eager's, to
 * the bit.
 */
const HOST_FUNCTIONS = { sin: Math.sin, cos: Math.cos, pow: kilnPow } as const;
export type HostMath = keyof typeof HOST_FUNCTIONS;
export const HOST_MATH = Object.keys(HOST_FUNCTIONS) as readonly HostMath[];

/** How many float64 arguments host function `name` takes. */
export const hostArity = (name: HostMath): number => HOST_FUNCTIONS[name].length;

/** The host functions as a JS object literal, for worker threads' sources: Math's by name, kiln's by their text. */
export const hostFunctionsSource = (): string => `{ ${HOST_MATH.map((n) => `${n}: ${n === 'pow' ? KILN_POW : `Math.${n}`}`).join(', ')} }`;

/** Instantiates a kiln module: the memory (`env.memory`) and the host functions. */
export const instantiate = (module: WasmModule, memory: WasmMemory): WasmInstance =>
  new wasmApi.Instance(module, { env: { memory, ...HOST_FUNCTIONS } });
