import { DeviceLimitError, formatBytes, KilnError } from './errors';

export interface PoolStats {
  /** Bytes of buffers handed out and not yet released (capacity, not request). */
  bytesLive: number;
  /** Bytes of released buffers kept for reuse. */
  bytesPooled: number;
  /** Highest bytesLive seen since the pool was made (or stats were reset). */
  peakBytesLive: number;
  buffersLive: number;
  /** GPU buffers created; with good reuse this stays small. */
  created: number;
  /** Acquisitions served from the pool instead of a new buffer. */
  reused: number;
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
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();
  private deferred: GPUBuffer[] = [];
  private stat: PoolStats = { bytesLive: 0, bytesPooled: 0, peakBytesLive: 0, buffersLive: 0, created: 0, reused: 0 };

  constructor(
    private readonly device: GPUDevice,
    /** Pooled bytes above this are destroyed instead of kept. */
    private readonly maxPooledBytes = 512 * 1024 * 1024,
  ) {}

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
      const advice = usage & STORAGE ? `a kernel cannot bind more: keep it on 'cpu', or split it into tensors of at most ${formatBytes(limit)}` : '';
      throw new DeviceLimitError(`a buffer${label ? ` '${label}'` : ''}`, byteLength, limitName, limit, advice, 'webgpu');
    }
    const size = Math.min(sizeClass(byteLength), cap);
    const bucket = this.free.get(key(size, usage));
    let buffer = bucket?.pop();
    if (buffer) {
      this.stat.reused++;
      this.stat.bytesPooled -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage, label: label ?? `kiln-pool-${size}` });
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
    this.deferred.push(buffer);
  }

  /** Called after a submit: buffers released before it may now be reused. */
  recycle(): void {
    for (const buffer of this.deferred) {
      if (this.stat.bytesPooled + buffer.size > this.maxPooledBytes) {
        buffer.destroy();
        continue;
      }
      const k = key(buffer.size, buffer.usage);
      let bucket = this.free.get(k);
      if (!bucket) this.free.set(k, (bucket = []));
      bucket.push(buffer);
      this.stat.bytesPooled += buffer.size;
    }
    this.deferred = [];
  }

  /** Destroys every pooled (not live) buffer. */
  trim(): void {
    for (const bucket of this.free.values()) for (const b of bucket) b.destroy();
    this.free.clear();
    this.stat.bytesPooled = 0;
  }

  stats(): PoolStats {
    return { ...this.stat };
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
