import { DeviceLimitError, formatBytes, KilnError, OutOfMemoryError } from './errors';
import type { CaptureErrors } from './pipeline-cache';

export interface PoolStats {
  /** Bytes of buffers handed out and not yet released (capacity, not request). */
  bytesLive: number;
  /** Bytes of released buffers kept for reuse (or waiting for a submit to become reusable). */
  bytesPooled: number;
  /** Device bytes the pool holds: bytesLive + bytesPooled. Never above `budget`. */
  bytesReserved: number;
  /** What bytesReserved may reach; an allocation beyond it frees cached buffers, then throws OutOfMemoryError. */
  budget: number;
  /** Highest bytesLive seen since the pool was made, or since resetPeak(). */
  peakBytesLive: number;
  buffersLive: number;
  /** GPU buffers created; with good reuse this stays small. */
  created: number;
  /** Acquisitions served from the pool instead of a new buffer. */
  reused: number;
}

export interface PoolOptions {
  /** Device bytes the pool may hold (live and cached); default unlimited. */
  budget?: number;
  /** Pooled bytes above this are destroyed instead of kept. */
  maxPooledBytes?: number;
  /** Submits pending work, so that buffers released before it can be freed (called when over budget). */
  reclaim?: () => void;
  /** Where errors are synchronous: a buffer the driver cannot allocate throws OutOfMemoryError here. */
  capture?: CaptureErrors;
}

/**
 * Rounds a request up to its size class: multiples of 256 bytes up to 4 KiB,
 * then four classes per power of two (2^k, 1.25, 1.5, 1.75 x 2^k), so reuse
 * is likely while no buffer wastes more than a quarter of itself.
 */
export function sizeClass(byteLength: number): number {
  if (byteLength <= 4096) return Math.max(256, Math.ceil(byteLength / 256) * 256);
  const pow = 2 ** Math.floor(Math.log2(byteLength));
  const quarter = pow / 4;
  return Math.ceil(byteLength / quarter) * quarter;
}

/**
 * Reuses GPU buffers by (usage, size class).
 *
 * A released buffer may still be read by commands recorded but not yet
 * submitted; a queue.writeBuffer into it would then land before those reads.
 * So releases wait in `deferred` until the owner calls `recycle()` after a
 * submit, and only then become reusable.
 *
 * Above `maxPooledBytes` the buffers released longest ago are destroyed,
 * not the ones just released: otherwise what earlier work left in its own
 * size classes fills the pool for good, and every buffer of the work now
 * running is created and destroyed again each call (a W8 training step
 * after the bench's other workloads: 1.8 s a step against 0.5).
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  /** The free buffers, oldest release first (a Set keeps insertion order). */
  private readonly freeOrder = new Set<GPUBuffer>();
  private readonly live = new Set<GPUBuffer>();
  private deferred: GPUBuffer[] = [];
  private stat = { bytesLive: 0, bytesPooled: 0, peakBytesLive: 0, buffersLive: 0, created: 0, reused: 0 };
  /** Device bytes (live and cached) the pool may hold; settable at any time. */
  budget: number;
  private readonly maxPooledBytes: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly options: PoolOptions = {},
  ) {
    this.budget = options.budget ?? Infinity;
    this.maxPooledBytes = options.maxPooledBytes ?? 512 * 1024 * 1024;
  }

  acquire(byteLength: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    if (!Number.isFinite(byteLength) || byteLength < 0) {
      throw new KilnError(`cannot allocate ${byteLength} bytes`, { op: 'BufferPool.acquire' });
    }
    const [limitName, limit] = sizeLimit(this.device.limits, usage);
    // The cap keeps the size class from rounding past a limit that is not a power of two.
    const cap = Math.floor(limit / 16) * 16;
    if (byteLength > cap) {
      // Kernels bind whole buffers: a storage buffer above the binding limit
      // would fail validation only when bound, and take its whole batch with it.
      const advice =
        usage & STORAGE ? `a kernel cannot bind more: keep it on 'cpu', or split it into tensors of at most ${formatBytes(limit)}` : '';
      throw new DeviceLimitError(`a buffer${label ? ` '${label}'` : ''}`, byteLength, limitName, limit, advice, 'webgpu');
    }
    const size = Math.min(sizeClass(byteLength), cap);
    const bucket = this.free.get(key(size, usage));
    let buffer = bucket?.pop();
    if (buffer) {
      this.freeOrder.delete(buffer);
      this.stat.reused++;
      this.stat.bytesPooled -= size;
    } else {
      this.makeRoom(size, byteLength);
      buffer = this.create({ size, usage, label: label ?? `kiln-pool-${size}` }, byteLength);
      this.stat.created++;
    }
    this.live.add(buffer);
    this.stat.buffersLive++;
    this.stat.bytesLive += size;
    this.stat.peakBytesLive = Math.max(this.stat.peakBytesLive, this.stat.bytesLive);
    return buffer;
  }

  /** Gives a buffer back; it becomes reusable at the next `recycle()`. */
  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) {
      throw new KilnError('buffer released twice, or not from this pool', { op: 'BufferPool.release' });
    }
    this.stat.buffersLive--;
    this.stat.bytesLive -= buffer.size;
    this.stat.bytesPooled += buffer.size;
    this.deferred.push(buffer);
  }

  /** Called after a submit: buffers released before it may now be reused. */
  recycle(): void {
    for (const buffer of this.deferred) {
      const k = key(buffer.size, buffer.usage);
      let bucket = this.free.get(k);
      if (!bucket) this.free.set(k, (bucket = []));
      bucket.push(buffer);
      this.freeOrder.add(buffer);
    }
    this.deferred = [];
    for (const old of this.freeOrder) {
      if (this.stat.bytesPooled <= this.maxPooledBytes) break;
      const bucket = this.free.get(key(old.size, old.usage))!;
      bucket.splice(bucket.indexOf(old), 1);
      this.freeOrder.delete(old);
      this.stat.bytesPooled -= old.size;
      old.destroy();
    }
  }

  /**
   * Frees cached buffers until `size` more bytes fit the budget: the free
   * ones first, then (after a submit) those released since the last one.
   * Throws OutOfMemoryError, allocating nothing, when even that is not enough.
   */
  private makeRoom(size: number, requested: number): void {
    const fits = () => this.stat.bytesLive + this.stat.bytesPooled + size <= this.budget;
    if (fits()) return;
    const before = this.stat.bytesPooled;
    this.trim();
    if (!fits() && this.deferred.length > 0) {
      this.options.reclaim?.();
      this.trim();
    }
    if (fits()) return;
    const freed = before - this.stat.bytesPooled;
    throw new OutOfMemoryError({ live: this.stat.bytesLive, requested, budget: this.budget, freed }, '', 'webgpu');
  }

  private create(descriptor: GPUBufferDescriptor, requested: number): GPUBuffer {
    if (!this.options.capture) return this.device.createBuffer(descriptor);
    const [buffer, errors] = this.options.capture(() => this.device.createBuffer(descriptor));
    if (errors.length === 0) return buffer;
    buffer.destroy();
    const figures = { live: this.stat.bytesLive, requested, budget: this.budget, freed: 0 };
    if (typeof GPUOutOfMemoryError !== 'undefined' && errors[0] instanceof GPUOutOfMemoryError)
      throw new OutOfMemoryError(figures, '', 'webgpu', errors[0]!.message.trimEnd());
    throw new KilnError(`creating a buffer of ${formatBytes(descriptor.size)} failed: ${errors[0]!.message.trimEnd()}`, { op: 'webgpu' });
  }

  /** Destroys every pooled buffer that is free (not live, not waiting for a submit). */
  trim(): void {
    for (const bucket of this.free.values()) {
      for (const b of bucket) {
        this.stat.bytesPooled -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
    this.freeOrder.clear();
  }

  /** Starts a new peak: `peakBytesLive` becomes the bytes live now (to measure one step's peak). */
  resetPeak(): void {
    this.stat.peakBytesLive = this.stat.bytesLive;
  }

  stats(): PoolStats {
    const { bytesLive, bytesPooled } = this.stat;
    return { ...this.stat, bytesReserved: bytesLive + bytesPooled, budget: this.budget };
  }
}

const STORAGE = 0x80;
const UNIFORM = 0x40;

/** The largest buffer of this usage a kernel can use: a binding limit for bound buffers, else maxBufferSize. */
function sizeLimit(limits: GPUSupportedLimits, usage: number): [string, number] {
  if (usage & STORAGE && limits.maxStorageBufferBindingSize < limits.maxBufferSize) {
    return ['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize];
  }
  if (usage & UNIFORM && limits.maxUniformBufferBindingSize < limits.maxBufferSize) {
    return ['maxUniformBufferBindingSize', limits.maxUniformBufferBindingSize];
  }
  return ['maxBufferSize', limits.maxBufferSize];
}

function key(size: number, usage: number): string {
  return `${usage}:${size}`;
}
