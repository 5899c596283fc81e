import { DeviceLimitError, KilnError } from './errors';
import { LruCache } from './lru';
import type { CaptureErrors } from './pipeline-cache';
import type { Binding } from './runtime';

/**
 * Bind groups cached by pipeline and bound buffer ranges. Creating one costs
 * about 14 µs of JS time in Dawn, more than the dispatch it serves; pooled
 * buffers come back in loops, so the same groups recur. At most `limit`
 * (default 4096) are kept, least recently used dropped first; a group of a
 * destroyed buffer is never asked for again (buffers are keyed by identity)
 * and ages out.
 */
export class BindGroupCache {
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  private readonly groups: LruCache<string, GPUBindGroup>;
  private readonly ids = new WeakMap<GPUBuffer | GPUComputePipeline, number>();
  private nextId = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Where errors are synchronous: a bind group that fails validation throws here instead of voiding a batch. */
    private readonly capture?: CaptureErrors,
    limit = 4096,
  ) {
    this.groups = new LruCache(limit);
  }

  get size(): number {
    return this.groups.size;
  }

  /** How many bind groups are kept; settable. */
  get limit(): number {
    return this.groups.limit;
  }

  set limit(n: number) {
    this.groups.limit = n;
  }

  /** The bind group of `bindings` for `pipeline`; a new one is first checked against the device's limits. */
  get(pipeline: GPUComputePipeline, bindings: readonly Binding[], label = pipeline.label): GPUBindGroup {
    const key = `${this.id(pipeline)}:${bindings.map((b) => this.key(b)).join(',')}`;
    let group = this.groups.get(key);
    if (!group) {
      checkBindings(this.device.limits, bindings, label);
      const create = () =>
        this.device.createBindGroup({
          layout: this.layout(pipeline),
          entries: bindings.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
        });
      if (this.capture) {
        const [made, errors] = this.capture(create);
        if (errors.length > 0) throw new KilnError(`the kernel's bindings were rejected: ${errors[0]!.message}`, { op: label });
        group = made;
      } else {
        group = create();
      }
      this.groups.set(key, group);
    }
    return group;
  }

  private layout(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    let layout = this.layouts.get(pipeline);
    if (!layout) this.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
    return layout;
  }

  private id(object: GPUBuffer | GPUComputePipeline): number {
    let id = this.ids.get(object);
    if (id === undefined) this.ids.set(object, (id = this.nextId++));
    return id;
  }

  private key(binding: Binding): string {
    if (!('buffer' in binding)) return String(this.id(binding));
    return `${this.id(binding.buffer)}@${binding.offset ?? 0}+${binding.size ?? ''}`;
  }
}

const STORAGE = 0x80;
const UNIFORM = 0x40;

/**
 * Throws where a bind group would fail validation for a limit: an invalid
 * group recorded into the shared encoder would void every dispatch with it.
 */
function checkBindings(limits: GPUSupportedLimits, bindings: readonly Binding[], label: string): void {
  let storage = 0;
  bindings.forEach((b, i) => {
    const buffer = 'buffer' in b ? b.buffer : b;
    const offset = 'buffer' in b ? (b.offset ?? 0) : 0;
    const size = 'buffer' in b && b.size !== undefined ? b.size : buffer.size - offset;
    const [limitName, limit, align] =
      buffer.usage & STORAGE
        ? ['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize, limits.minStorageBufferOffsetAlignment]
        : ['maxUniformBufferBindingSize', limits.maxUniformBufferBindingSize, limits.minUniformBufferOffsetAlignment];
    if (buffer.usage & STORAGE) storage++;
    else if (!(buffer.usage & UNIFORM)) throw new KilnError(`binding ${i} is neither a storage nor a uniform buffer`, { op: label });
    if (size > limit) throw new DeviceLimitError(`binding ${i} of kernel '${label}'`, size, limitName, limit, '', label);
    if (offset % align !== 0) {
      throw new KilnError(`binding ${i} starts at byte ${offset}, not a multiple of this device's offset alignment ${align}`, {
        op: label,
      });
    }
  });
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    throw new KilnError(
      `kernel binds ${storage} storage buffers; this device allows ${limits.maxStorageBuffersPerShaderStage} (maxStorageBuffersPerShaderStage)`,
      { op: label },
    );
  }
}
