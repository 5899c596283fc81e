/**
 * A linear memory, its blocks (./block-allocator) and the kernel instances
 * bound to it: what runs wasm kernels over float32 data. A call's scratch
 * (`alloc`, `put`) is freed by the next `reset`; arrays made by `array`
 * (eager's cpu storages, compiled graphs' buffers) live until `free`, and
 * kernels read and write them where they are, with no copy.
 */
import type { TypedArray } from '../../dtype';
import { BlockAllocator } from './block-allocator';
import { ModuleBuilder } from './module-builder';
import { compileCached } from './module-cache';
import { ThreadPool } from './thread-pool';
import { ARENA_MEMORY, arenaMemory, instantiate, WASM_PAGE_BYTES, type WasmMemory, type WasmModule } from './wasm-api';

/**
 * At most this much of the memory (4 GiB at most) holds arrays, so that a
 * call's scratch (a gemm's packed operands) always has room; arrays past it
 * are ordinary ones, copied in and out.
 */
const ARRAY_BYTES_LIMIT = 3 * 2 ** 30;

/** Bytes of the block small scratch comes from. */
const SMALL_SCRATCH_BYTES = 1 << 16;

/** A kernel entry point: pointers (byte offsets) and sizes in, nothing out. */
export type KernelFn = (...args: number[]) => void;

export class WasmArena {
  readonly memory: WasmMemory;
  private readonly blocks: BlockAllocator;
  /** Blocks of this call's scratch, freed by `reset`. */
  private readonly scratch: number[] = [];
  /**
   * A block kept for small scratch, handed out by bumping `smallTop` (what
   * a small call asks for, its operands and outputs, without the block
   * allocator's bookkeeping); allocated at first use.
   */
  private small: number | undefined;
  private smallTop = 0;
  /** Every buffer object the memory has shown `array` (a shared memory shows a new one each time it grows). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private view: Float32Array | undefined;
  /** Bytes held by arrays `array` made, kept under ARRAY_BYTES_LIMIT. */
  private arrayBytes = 0;
  private readonly instances = new Map<WasmModule, Readonly<Record<string, unknown>>>();

  /** The worker threads that run kernels on this memory with the calling thread (made on first use; undefined: one thread). */
  private pool: ThreadPool | undefined | null = null;

  constructor(initialBytes = WASM_PAGE_BYTES) {
    this.memory = arenaMemory(Math.max(1, Math.ceil(initialBytes / WASM_PAGE_BYTES)));
    this.blocks = new BlockAllocator({ at: 0, bytes: this.memory.buffer.byteLength }, (bytes) => {
      const at = this.memory.buffer.byteLength;
      this.memory.grow(Math.ceil(bytes / WASM_PAGE_BYTES));
      return { at, bytes: this.memory.buffer.byteLength - at };
    });
  }

  /** The thread pool on this memory, or undefined where the target runs on one thread. */
  threads(): ThreadPool | undefined {
    if (this.pool === null) this.pool = ThreadPool.create(this.memory);
    return this.pool;
  }

  /** Byte offset of `floats` new float32 slots of scratch (uninitialized, freed by `reset`), growing the memory when needed. */
  alloc(floats: number): number {
    const bytes = Math.ceil(floats / 4) * 16;
    if (this.smallTop + bytes <= SMALL_SCRATCH_BYTES) {
      this.small ??= this.blocks.alloc(SMALL_SCRATCH_BYTES);
      this.smallTop += bytes;
      return this.small + this.smallTop - bytes;
    }
    const at = this.blocks.alloc(4 * floats);
    this.scratch.push(at);
    return at;
  }

  /**
   * A zeroed Float32Array of `length` in this memory, kept until `free`;
   * undefined where the memory is not shared (growing it would detach the
   * array) or cannot grow enough.
   */
  array(length: number): Float32Array | undefined {
    if (!ARENA_MEMORY.shared || this.arrayBytes + 4 * length > ARRAY_BYTES_LIMIT) return undefined;
    let at: number;
    try {
      at = this.blocks.alloc(4 * length);
    } catch (error) {
      if (error instanceof RangeError) return undefined;
      throw error;
    }
    this.arrayBytes += this.blocks.sizeOf(at);
    // TypedArray.fill on a SharedArrayBuffer takes a slow path (5x a plain array's here); memory.fill is a memset.
    this.kernel(zeroModule(), 'zero')(at, 4 * length);
    return new Float32Array(this.buffer(), at, length);
  }

  /** The memory's buffer now, for views of arrays `array` made (`owns` knows them). */
  buffer(): ArrayBufferLike {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return buffer;
  }

  /** Whether `data` is a view into this memory (kernels take its byteOffset as its pointer). */
  owns(data: TypedArray): boolean {
    return this.buffers.has(data.buffer);
  }

  /** Bytes of the block behind `data`, an array `array` made (or a view from its start). */
  capacity(data: TypedArray): number {
    return this.blocks.sizeOf(data.byteOffset);
  }

  /** Frees the block at byte `at`, the byteOffset of an array `array` made. */
  free(at: number): void {
    this.arrayBytes -= this.blocks.sizeOf(at);
    this.blocks.release(at);
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

  /** Frees the scratch allocated since the last reset. */
  reset(): void {
    for (const at of this.scratch) this.blocks.release(at);
    this.scratch.length = 0;
    this.smallTop = 0;
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

/** zero(at, bytes): memory.fill with 0. */
const zeroModule = () =>
  compileCached('zero', () => {
    const mod = new ModuleBuilder();
    mod.func(['i32', 'i32'], [], 'zero').get(0).i32(0).get(1).memoryFill();
    return mod.toBytes();
  });

let shared: WasmArena | undefined;

/**
 * Starts the worker threads of the cpu kernels (sharedArena's pool) and
 * resolves, with the number of threads, once they run or after `timeoutMs`
 * (then with those running, plus the calling thread). In Node they run at
 * once; in a browser a Web Worker starts only after the page yields to its
 * event loop, so a page that computes without yielding would otherwise run
 * every slice on its own thread.
 */
export async function startCpuThreads(timeoutMs = 10_000): Promise<number> {
  const pool = sharedArena().threads();
  if (!pool) return 1;
  for (const t0 = performance.now(); pool.started() < pool.threads - 1 && performance.now() - t0 < timeoutMs; ) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return pool.started() + 1;
}

/**
 * The arena eager's cpu kernels and the compiled graphs' wasm kernels run
 * on: one memory, so each module is instantiated once and one thread pool
 * serves both. A call resets its scratch first; calls never nest (a kernel
 * runs to its end before the next begins).
 */
export function sharedArena(): WasmArena {
  shared ??= new WasmArena();
  return shared;
}
