/**
 * The target seam: where a compiled graph's kernels run, and how they are
 * spelled. Everything above it (lowering, the scheduler, the kernel IR in
 * ../codegen/kernel, memory planning, externs, random streams, dynamic
 * sizes) is the same for every target; a target renders each scheduled
 * kernel to its own source with the launch geometry it needs, builds it,
 * owns the buffers its kernels bind, and runs them. One folder per target
 * (webgpu/, js/), chosen per device in ./registry; docs/ARCHITECTURE.md,
 * "Adding a target", says what a new one needs.
 */
import type { Device, DType, Storage } from '@kiln/eager';
import type { RowStrategy as KernelRowStrategy } from '@kiln/eager/kernels';
import type { GeneratedKernel } from '../codegen/kernel';

/**
 * A target. `B` is its buffer: what one kernel input or output is bound as
 * (a GPUBuffer, a typed array). The runtime never looks inside one; it gets
 * them from `bufferOf` and `allocate` and hands them to `launch`.
 */
export interface Target<B = unknown> {
  /** Its name in reports and logs ('webgpu', 'js'). */
  readonly name: string;
  /** What `compile` builds from a kernel's source, as compile-time reports name it ('pipelines', 'functions'). */
  readonly builds: string;
  /** The eager device whose tensors its kernels read and write. */
  readonly device: Device;
  /** Most input and output buffers one kernel may bind; the scheduler splits kernels to fit. */
  readonly maxKernelBuffers: number;
  /**
   * Whether a row kernel should sum softmax's exp(x - max) in the max's
   * pass (one read of the row, the sum rescaled as the max grows: a GPU
   * thread's reads are the cost); where not, the sum's own pass stores each
   * exp and the normalized write reads it back (one exp per element: on a
   * CPU the exp is the cost).
   */
  readonly onlineSoftmax: boolean;
  /**
   * Renders `kernel` (source plus the launch geometry the target needs) and
   * builds it: a pipeline, a JS function, a module. Called once per kernel
   * when the graph is compiled, with the traced sizes' layout.
   */
  compile(kernel: GeneratedKernel, options: KernelOptions): TargetKernel<B>;
  /** An eager storage on `device` as a kernel binds it; kernels read and write it in place, without copies. */
  bufferOf(storage: Storage): B;
  /**
   * A buffer for a planned intermediate of `count` elements of `dtype`:
   * `current` (the slot's buffer from an earlier call, any dtype) when it is
   * big enough, else a new one, `current` being released.
   */
  allocate(dtype: DType, count: number, current: B | undefined): B;
  /** Frees a buffer `allocate` made. */
  release(buffer: B): void;
  /**
   * Runs one call of a compiled graph: `call` launches its kernels as one
   * unit of the target's work, all of it under way when `run` returns
   * (webgpu: recorded into one encoder, submitted in chunks and at the end;
   * a synchronous target simply calls it).
   */
  run<T>(call: () => T): T;
}

/** One kernel built for a target. */
export interface TargetKernel<B> {
  /** What reports show: the kernel as rendered for the traced sizes. */
  readonly source: string;
  /** Milliseconds `compile` spent building it from its source (not rendering it), for the compile-time report. */
  readonly buildMs: number;
  /**
   * Runs the kernel (or enqueues it, on a device that runs asynchronously)
   * over `reads` and `writes`, bound in the kernel's input and output order.
   */
  launch(reads: readonly B[], writes: readonly B[], metadata: KernelMetadata): void;
  /** Set when the target had another target build this kernel (one it cannot spell yet): which, and why. */
  readonly fallback?: { readonly target: string; readonly reason: string };
  /** What explain says of its tuning under max-autotune (its choice, or that it is under way), read when a report is made. */
  autotune?(): string;
}

/** What a call passes every kernel besides its buffers. */
export interface KernelMetadata {
  /** This call's dynamic sizes, `s0`, `s1`, ... */
  readonly syms: readonly number[];
  /** The kernel's metadata words: the dynamic sizes, then 4 per random source (../codegen/kernel, metadataWords). */
  readonly words: readonly number[];
}

/** How row kernels spread rows over threads ('auto': as the target judges from the traced sizes). */
export type RowStrategy = KernelRowStrategy | 'auto';

export interface KernelOptions {
  /** How many dynamic sizes the kernels read from their metadata. */
  readonly symCount: number;
  /** A row-kernel strategy the caller fixed (tests, tuning); targets without parallel rows ignore it. */
  readonly rowStrategy: RowStrategy;
  /** 'max-autotune': kernels with tile choices benchmark them on the device (a target with none ignores it). */
  readonly mode: CompileMode;
  /** Element counts of the kernel's input and output buffers, where all sizes are static (what tuning allocates). */
  readonly elements?: BufferElements;
}

/** The compile option `mode` (PyTorch's names). */
export type CompileMode = 'default' | 'max-autotune';

/** Element counts of a kernel's buffers, by input and output slot. */
export interface BufferElements {
  readonly reads: readonly number[];
  readonly writes: readonly number[];
}

/** `make()`, and how long it took in ms (a target's `buildMs`). */
export function timed<T>(make: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = make();
  return { value, ms: performance.now() - started };
}
