import type { BufferPool } from './buffer-pool';
import { KilnError } from './errors';

export interface KernelTime {
  label: string;
  ms: number;
}

export interface ProfileReport {
  /** 'timestamp': GPU timestamps around each dispatch; 'wall': host time per dispatch, each submitted alone. */
  method: 'timestamp' | 'wall';
  kernels: KernelTime[];
  /** Host time from the start of profiling until all work was done. */
  totalMs: number;
  toString(): string;
}

const MAX_TIMED_DISPATCHES = 2048; // 2 queries each; 4096 is the WebGPU maximum per query set

/**
 * Times every dispatch recorded while it is installed on the batcher.
 * With 'timestamp-query' each dispatch gets its own pass with timestamp
 * writes; without it each dispatch is submitted alone and timed by when the
 * queue reports it done (coarser, but the same API and report).
 */
export class KernelTimer {
  private readonly labels: string[] = [];
  private readonly querySet: GPUQuerySet | undefined;
  private readonly resolveBuffer: GPUBuffer | undefined;
  private readonly wallDone: Promise<number>[] = [];
  private readonly started = performance.now();

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    readonly method: 'timestamp' | 'wall',
  ) {
    if (method === 'timestamp') {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * MAX_TIMED_DISPATCHES });
      this.resolveBuffer = pool.acquire(
        16 * MAX_TIMED_DISPATCHES,
        GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
        'kiln-timestamps',
      );
    }
  }

  /** Timestamp writes for the next dispatch's pass (timestamp method only). */
  timestampWrites(label: string): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet) return undefined;
    const i = this.labels.length;
    if (i >= MAX_TIMED_DISPATCHES) {
      throw new KilnError(`more than ${MAX_TIMED_DISPATCHES} dispatches in one profile; profile a smaller region`, {
        op: 'profile',
      });
    }
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Wall method: the dispatch just recorded is submitted alone and timed. */
  wallMark(label: string, flush: () => void): void {
    this.labels.push(label);
    flush();
    this.wallDone.push(this.device.queue.onSubmittedWorkDone().then(() => performance.now()));
  }

  /** Gives the buffers back without reading them (the profiled function threw). */
  discard(): void {
    if (this.resolveBuffer) this.pool.release(this.resolveBuffer);
    this.querySet?.destroy();
  }

  /** Reads the times back; the batcher must have been flushed. */
  async report(): Promise<ProfileReport> {
    let kernels: KernelTime[];
    if (this.resolveBuffer && this.querySet) {
      const bytes = Math.max(16, this.labels.length * 16);
      const staging = this.pool.acquire(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'kiln-timestamps-readback');
      const encoder = this.device.createCommandEncoder();
      // All at once at the end: resolving per submit would need 256-byte-aligned offsets.
      if (this.labels.length > 0) encoder.resolveQuerySet(this.querySet, 0, 2 * this.labels.length, this.resolveBuffer, 0);
      encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, bytes);
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      const ns = new BigUint64Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      this.pool.release(staging);
      this.pool.release(this.resolveBuffer);
      this.querySet.destroy();
      kernels = this.labels.map((label, i) => ({ label, ms: Number(ns[2 * i + 1]! - ns[2 * i]!) / 1e6 }));
    } else {
      const ends = await Promise.all(this.wallDone);
      kernels = this.labels.map((label, i) => ({ label, ms: ends[i]! - (i === 0 ? this.started : ends[i - 1]!) }));
    }
    await this.device.queue.onSubmittedWorkDone();
    return makeReport(this.method, kernels, performance.now() - this.started);
  }
}

function makeReport(method: ProfileReport['method'], kernels: KernelTime[], totalMs: number): ProfileReport {
  return {
    method,
    kernels,
    totalMs,
    toString() {
      const rows = kernels.map((k) => `  ${k.ms.toFixed(3).padStart(10)} ms  ${k.label}`);
      const gpu = kernels.reduce((s, k) => s + k.ms, 0);
      return [
        `profile (${method}): ${kernels.length} dispatches, ${gpu.toFixed(3)} ms in kernels, ${totalMs.toFixed(3)} ms total`,
        ...rows,
      ].join('\n');
    },
  };
}
