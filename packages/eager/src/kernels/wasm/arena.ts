/**
 * A linear memory with a bump allocator, and the kernel instances bound to
 * it: what runs wasm kernels over Float32Array data (tests, benchmarks,
 * and later the runtime's storage). Allocations are 16-byte aligned so
 * v128 loads of whole rows are aligned.
 */
import { ThreadPool } from './thread-pool';
import { arenaMemory, instantiate, WASM_PAGE_BYTES, type WasmMemory, type WasmModule } from './wasm-api';

const ALIGN = 16;

/** A kernel entry point: pointers (byte offsets) and sizes in, nothing out. */
export type KernelFn = (...args: number[]) => void;

export class WasmArena {
  readonly memory: WasmMemory;
  private top = 0;
  private view: Float32Array | undefined;
  private readonly instances = new Map<WasmModule, Readonly<Record<string, unknown>>>();

  /** The worker threads that run kernels on this memory with the calling thread (made on first use; undefined: one thread). */
  private pool: ThreadPool | undefined | null = null;

  constructor(initialBytes = WASM_PAGE_BYTES) {
    this.memory = arenaMemory(Math.max(1, Math.ceil(initialBytes / WASM_PAGE_BYTES)));
  }

  /** The thread pool on this memory, or undefined where the target runs on one thread. */
  threads(): ThreadPool | undefined {
    if (this.pool === null) this.pool = ThreadPool.create(this.memory);
    return this.pool;
  }

  /** Byte offset of `floats` new float32 slots (uninitialized), growing the memory when needed. */
  alloc(floats: number): number {
    const at = this.top;
    this.top = Math.ceil((at + 4 * floats) / ALIGN) * ALIGN;
    const missing = this.top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
    return at;
  }

  /** Copies data in; returns its byte offset. */
  put(data: Float32Array): number {
    const at = this.alloc(data.length);
    this.floats().set(data, at >> 2);
    return at;
  }

  /** Copies `into.length` floats at byte offset `ptr` out into `into`. */
  take(ptr: number, into: Float32Array): void {
    into.set(this.floats().subarray(ptr >> 2, (ptr >> 2) + into.length));
  }

  /** The whole memory as floats, made again only when the memory has grown (a call's copies make no view each). */
  private floats(): Float32Array {
    const buffer = this.memory.buffer;
    if (this.view?.buffer !== buffer || this.view.byteLength !== buffer.byteLength) this.view = new Float32Array(buffer);
    return this.view;
  }

  /** A view of `length` floats at byte offset `ptr` (take a new one after allocating: growing replaces the buffer). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** Frees everything allocated so far. */
  reset(): void {
    this.top = 0;
  }

  /** The exported kernel `name` of `module`, instantiated on this memory once. */
  kernel(module: WasmModule, name: string): KernelFn {
    let exports = this.instances.get(module);
    if (!exports) {
      exports = instantiate(module, this.memory).exports;
      this.instances.set(module, exports);
    }
    const fn = exports[name];
    if (typeof fn !== 'function') throw new Error(`wasm module has no function ${name}`);
    return fn as KernelFn;
  }
}

let shared: WasmArena | undefined;

/**
 * The arena eager's cpu kernels and the compiled graphs' wasm kernels run
 * on: one memory, so each module is instantiated once and one thread pool
 * serves both. A call resets it first; calls never nest (a kernel runs to
 * its end before the next begins).
 */
export function sharedArena(): WasmArena {
  shared ??= new WasmArena();
  return shared;
}
