import { BindGroupCache } from './bind-group-cache';
import { BufferPool } from './buffer-pool';
import { CommandBatcher, type Workgroups } from './command-batcher';
import { type AcquiredDevice, acquireDevice } from './device';
import { ASSERT_WORDS, recordedError } from './device-asserts';
import { KilnError } from './errors';
import { log } from './log';
import { LruCache } from './lru';
import { initialBudget, parseBudget } from './memory-budget';
import { PipelineCache, type PipelineKey } from './pipeline-cache';
import { KernelTimer, type ProfileReport } from './profiler';
import { ReadbackWaiter } from './readback-waiter';

const PROBE_LABEL = 'kiln-probe-synchronous-errors';

export const STORAGE_USAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC
const READBACK_USAGE = 0x01 | 0x08; // MAP_READ | COPY_DST
const UNIFORM_USAGE = 0x40 | 0x08; // UNIFORM | COPY_DST

/** A binding of a kernel: a whole buffer, or a range of one. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

/**
 * Everything kiln needs from one WebGPU device: pooled buffers kept within a
 * memory budget, uploads and readbacks, cached pipelines, batched dispatches,
 * profiling, and errors raised as KilnErrors: where they are made when the
 * device reports them synchronously (Dawn), else at the next point where the
 * caller waits.
 */
export class GpuRuntime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly batcher: CommandBatcher;
  private readonly waiter = new ReadbackWaiter();
  /** The pipeline cache's misses at the last readback (see `read`). */
  private pipelinesAtLastRead = 0;
  readonly bindGroups: BindGroupCache;
  /** Uniform buffers by contents, at most 4096 (256 bytes each from the pool); an evicted one goes back to the pool. */
  readonly uniforms = new LruCache<string, GPUBuffer>(4096, (buffer) => this.pool.release(buffer));
  private readonly errors: KilnError[] = [];
  /** Open `capture` calls, innermost last: errors reported during them go there. */
  private readonly captures: GPUError[][] = [];
  /**
   * True where the device reports a validation error during the call that
   * caused it (Dawn in Node; found by a probe at start). Then a pipeline that
   * fails to compile, or a bind group that fails validation, throws where it
   * is made; elsewhere such errors reach the next sync point.
   */
  readonly synchronousErrors: boolean;
  private lostReason: string | undefined;
  private asserts: GPUBuffer | undefined;
  /** Dispatches that bound the assert buffer, and how many of them a readback of it has covered. */
  private assertDispatches = 0;
  private assertsChecked = 0;

  /**
   * `memoryBudget`: device bytes the buffer pool may hold (default unlimited;
   * `getRuntime()` starts from KILN_GPU_MEMORY_BUDGET or half the host's
   * memory). `synchronousErrors: false` takes the browser's path on Dawn too
   * (for tests).
   */
  constructor(
    readonly acquired: AcquiredDevice,
    options: { memoryBudget?: number; synchronousErrors?: false } = {},
  ) {
    const device = acquired.device;
    this.device = device;
    device.addEventListener('uncapturederror', (event) => {
      // Handled here, always: Dawn in Node prints an error nobody prevented to stdout.
      event.preventDefault();
      const error = (event as GPUUncapturedErrorEvent).error;
      const capture = this.captures.at(-1);
      if (error.message.includes(PROBE_LABEL)) return void capture?.push(error);
      log('webgpu', () => `${error.constructor.name}: ${error.message.trimEnd()}`);
      if (capture) capture.push(error);
      else this.errors.push(new KilnError(`WebGPU reported an error: ${error.message.trimEnd()}`, { op: 'webgpu' }));
    });
    // MAP_READ with MAP_WRITE is invalid in every implementation.
    const [, probe] = this.capture(() => device.createBuffer({ label: PROBE_LABEL, size: 4, usage: 0x1 | 0x2 }));
    this.synchronousErrors = probe.length > 0 && options.synchronousErrors !== false;
    const capture = this.synchronousErrors ? <T>(fn: () => T) => this.capture(fn) : undefined;
    this.pool = new BufferPool(device, { budget: options.memoryBudget, reclaim: () => this.flush(), capture });
    this.pipelines = new PipelineCache(device, capture);
    this.batcher = new CommandBatcher(device, () => this.pool.recycle());
    this.bindGroups = new BindGroupCache(device, capture);
    void device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message || 'no message'}`;
    });
  }

  /** Runs `fn`, collecting the WebGPU errors reported while it runs (all of its errors where `synchronousErrors`). */
  private capture<T>(fn: () => T): [T, GPUError[]] {
    const errors: GPUError[] = [];
    this.captures.push(errors);
    try {
      return [fn(), errors];
    } finally {
      this.captures.pop();
    }
  }

  get adapterInfo() {
    return this.acquired.adapterInfo;
  }

  get features() {
    return this.acquired.features;
  }

  /** The subgroup size kiln's subgroup kernels may assume on this device (checked when it was opened), or undefined. */
  get subgroupSize(): number | undefined {
    return this.acquired.subgroupSize;
  }

  /**
   * Device bytes the buffer pool may hold, live and cached (PoolStats.budget).
   * An allocation beyond it first frees cached buffers, then throws an
   * OutOfMemoryError naming live, requested and budget bytes. Settable, in
   * bytes or as a size ('512MiB', '2GiB'); a share of host memory ('25%') is
   * read by KILN_GPU_MEMORY_BUDGET and eager's initWebGpu({ memoryBudget }).
   */
  get memoryBudget(): number {
    return this.pool.budget;
  }

  set memoryBudget(budget: number | string) {
    this.pool.budget = parseBudget(budget);
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** A storage buffer of at least `byteLength` bytes (pooled). */
  alloc(byteLength: number, label?: string): GPUBuffer {
    this.assertAlive();
    return this.pool.acquire(byteLength, STORAGE_USAGE, label);
  }

  release(buffer: GPUBuffer): void {
    this.pool.release(buffer);
  }

  /** A new pooled storage buffer holding `data`. */
  upload(data: ArrayBufferView, label?: string): GPUBuffer {
    const buffer = this.alloc(data.byteLength, label);
    // A fresh buffer is read by no pending command, so no flush is needed.
    this.writeNow(buffer, data, 0);
    return buffer;
  }

  /**
   * Writes `data` into `buffer` at `byteOffset`. The write is ordered before
   * the commands recorded so far, so they are flushed first: a pending kernel
   * that reads this buffer sees its old contents, as program order says.
   */
  write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.assertAlive();
    if (this.batcher.hasPending) this.batcher.flush();
    this.writeNow(buffer, data, byteOffset);
  }

  private writeNow(buffer: GPUBuffer, data: ArrayBufferView, byteOffset: number): void {
    if (data.byteLength === 0) return;
    // writeBuffer wants a multiple of 4 bytes (bool and odd-length data are not).
    const padded = data.byteLength % 4 === 0 ? data : padTo4(data);
    this.device.queue.writeBuffer(buffer, byteOffset, padded.buffer, padded.byteOffset, padded.byteLength);
  }

  /**
   * A uniform buffer holding `data` (e.g. sizes and strides of a kernel),
   * shared by every caller with the same contents so that the bind groups
   * that use it can be cached too. Owned by the runtime: never release it.
   * Valid for dispatches recorded before the next `uniform()` call that
   * could evict it; an evicted buffer is reused only after a submit.
   */
  uniform(data: Uint32Array | Int32Array | Float32Array): GPUBuffer {
    this.assertAlive();
    const key = `${data.constructor.name}:${data.join(',')}`;
    let buffer = this.uniforms.get(key);
    if (!buffer) {
      buffer = this.pool.acquire(Math.max(16, Math.ceil(data.byteLength / 16) * 16), UNIFORM_USAGE, 'kiln-uniform');
      // A buffer from the pool is read by no pending command: it was released before the last submit.
      this.writeNow(buffer, data, 0);
      this.uniforms.set(key, buffer);
    }
    return buffer;
  }

  pipeline(spec: PipelineKey): GPUComputePipeline {
    this.assertAlive();
    return this.pipelines.get(spec);
  }

  /** `bindings` bound in order to group 0 of the pipeline (cached). */
  bindGroup(pipeline: GPUComputePipeline, bindings: readonly Binding[], label?: string): GPUBindGroup {
    return this.bindGroups.get(pipeline, bindings, label);
  }

  /**
   * The device-side assert buffer (./device-asserts): kernels that check
   * indices bind it; a violation they record is raised at the next readback
   * or sync.
   */
  get assertBuffer(): GPUBuffer {
    if (!this.asserts) {
      this.asserts = this.pool.acquire(ASSERT_WORDS * 4, STORAGE_USAGE, 'kiln-asserts');
      this.writeNow(this.asserts, new Uint32Array(ASSERT_WORDS), 0); // a pooled buffer may hold old words
    }
    return this.asserts;
  }

  /**
   * Records one dispatch. A dispatch that breaks a device limit (grid,
   * bindings), or uses a pipeline known not to compile, throws here, before
   * anything is recorded. A pipeline whose compile is still being checked
   * runs in a submission of its own: if it turns out invalid, only its own
   * work fails (reported at the next sync point), never the other dispatches
   * batched with it.
   */
  dispatch(pipeline: GPUComputePipeline, bindings: readonly Binding[], workgroups: Workgroups, label = pipeline.label): void {
    this.assertAlive();
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((n) => n !== undefined && n > max)) {
      throw new KilnError(
        `kernel dispatches [${workgroups.join(', ')}] workgroups; this device allows at most ${max} per dimension (maxComputeWorkgroupsPerDimension)`,
        { op: label },
      );
    }
    const verdict = this.pipelines.verdict(pipeline);
    if (verdict instanceof KilnError) {
      this.pipelines.reported(pipeline);
      throw verdict;
    }
    const isolate = verdict === 'pending';
    // Still being checked (no synchronous errors here): a submission of its own,
    // so that if it is invalid the work batched before and after it still runs.
    if (isolate) this.batcher.flush();
    const group = this.bindGroup(pipeline, bindings, label);
    if (this.asserts && bindings.includes(this.asserts)) this.assertDispatches++;
    this.batcher.dispatch(pipeline, [group], workgroups, label);
    if (isolate) this.batcher.flush();
  }

  flush(): void {
    this.batcher.flush();
  }

  /**
   * Copies `byteLength` bytes of `buffer` from `byteOffset` back to the host.
   * Flushes pending work first; raises any error the device reported since
   * the last sync point.
   */
  async read(buffer: GPUBuffer, byteOffset = 0, byteLength = buffer.size - byteOffset): Promise<ArrayBuffer> {
    this.assertAlive();
    if (byteLength === 0) {
      await this.sync();
      return new ArrayBuffer(0);
    }
    // Buffer copies move whole 4-byte words; read the covering words (and the assert words after them when a check ran).
    const start = byteOffset & ~3;
    const end = Math.min(buffer.size, Math.ceil((byteOffset + byteLength) / 4) * 4);
    const n = end - start;
    const checked = this.assertDispatches > this.assertsChecked;
    const covered = this.assertDispatches;
    const at = Math.ceil(n / 8) * 8; // getMappedRange offsets are multiples of 8
    const staging = this.pool.acquire(checked ? at + ASSERT_WORDS * 4 : n, READBACK_USAGE, 'kiln-readback');
    this.batcher.copy(buffer, start, staging, 0, n);
    if (checked) this.batcher.copy(this.assertBuffer, 0, staging, at, ASSERT_WORDS * 4);
    const work = this.batcher.takeWork();
    // Work that waited on new pipelines took their compile too: nothing to learn from its time.
    const learn = this.pipelines.misses === this.pipelinesAtLastRead;
    this.pipelinesAtLastRead = this.pipelines.misses;
    this.flush();
    try {
      const mapped = await this.waiter.beforeMap(work, n, learn);
      await staging.mapAsync(GPUMapMode.READ, 0, checked ? at + ASSERT_WORDS * 4 : n);
      mapped();
      if (checked) this.raiseAssert(new Uint32Array(staging.getMappedRange(at, ASSERT_WORDS * 4).slice(0)), covered);
      const head = byteOffset - start;
      return staging.getMappedRange(0, n).slice(head, head + byteLength);
    } catch (error) {
      if (error instanceof KilnError) throw error;
      this.assertAlive();
      throw new KilnError(`readback failed: ${String(error)}`, { op: 'read', cause: error });
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
      this.pool.release(staging);
      await this.raiseErrors();
    }
  }

  /** Waits until the device has finished all submitted work; raises what it reported (errors, failed asserts). */
  async sync(): Promise<void> {
    if (this.assertDispatches > this.assertsChecked) {
      // A readback of the assert words alone: it waits for all work like onSubmittedWorkDone.
      const covered = this.assertDispatches;
      const staging = this.pool.acquire(ASSERT_WORDS * 4, READBACK_USAGE, 'kiln-readback');
      this.batcher.copy(this.assertBuffer, 0, staging, 0, ASSERT_WORDS * 4);
      this.flush();
      try {
        await staging.mapAsync(GPUMapMode.READ, 0, ASSERT_WORDS * 4);
        this.raiseAssert(new Uint32Array(staging.getMappedRange(0, ASSERT_WORDS * 4).slice(0)), covered);
      } finally {
        if (staging.mapState === 'mapped') staging.unmap();
        this.pool.release(staging);
      }
    } else {
      this.flush();
      await this.device.queue.onSubmittedWorkDone();
    }
    await this.raiseErrors();
  }

  /** Notes that dispatches up to `covered` were checked; clears the assert words and throws what they recorded. */
  private raiseAssert(words: Uint32Array, covered: number): void {
    this.assertsChecked = Math.max(this.assertsChecked, covered);
    const error = recordedError(words);
    if (!error) return;
    this.device.queue.writeBuffer(this.assertBuffer, 0, new Uint32Array(ASSERT_WORDS));
    throw error;
  }

  /**
   * Times every dispatch `fn` records. Uses GPU timestamps where the device
   * has 'timestamp-query', else wall time per dispatch (`method` forces one).
   */
  async profile(fn: () => unknown, method?: 'timestamp' | 'wall'): Promise<ProfileReport> {
    const chosen = method ?? (this.features.has('timestamp-query') ? 'timestamp' : 'wall');
    if (chosen === 'timestamp' && !this.features.has('timestamp-query')) {
      throw new KilnError("this device has no 'timestamp-query'; profile with method 'wall'", { op: 'profile' });
    }
    this.flush();
    const timer = new KernelTimer(this.device, this.pool, chosen);
    this.batcher.timer = timer;
    try {
      await fn();
      this.flush();
    } catch (error) {
      this.flush();
      timer.discard();
      throw error;
    } finally {
      this.batcher.timer = undefined;
    }
    const report = await timer.report();
    await this.raiseErrors();
    return report;
  }

  /** Throws the first error reported since the last call (compile, validation). */
  async raiseErrors(): Promise<void> {
    this.errors.unshift(...(await this.pipelines.takeErrors()));
    const first = this.errors.shift();
    this.errors.length = 0;
    if (first) throw first;
    this.assertAlive();
  }

  private assertAlive(): void {
    if (this.lostReason !== undefined) {
      throw new KilnError(`the WebGPU device was lost (${this.lostReason}); restart the process to get a new one`, {
        op: 'webgpu',
      });
    }
  }
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

let shared: Promise<GpuRuntime> | undefined;
let ready: GpuRuntime | undefined;

/** The process-wide runtime if it has been acquired already (for code that must stay synchronous). */
export function currentRuntime(): GpuRuntime | undefined {
  return ready;
}

/** The process-wide runtime on the shared device. */
export function getRuntime(): Promise<GpuRuntime> {
  shared ??= Promise.all([acquireDevice(), initialBudget()]).then(
    ([acquired, memoryBudget]) => (ready = new GpuRuntime(acquired, { memoryBudget })),
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}
