/**
 * The part of the WebAssembly JavaScript API the kernels use, typed here
 * because the packages compile against ES2023 without the DOM lib (which
 * is where TypeScript declares `WebAssembly`); Node and browsers both
 * provide it at runtime.
 */

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

/** Instantiates a kiln module (one imported memory, `env.memory`). */
export const instantiate = (module: WasmModule, memory: WasmMemory): WasmInstance => new wasmApi.Instance(module, { env: { memory } });
