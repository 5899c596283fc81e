import type { KernelTimer } from './profiler';

export type Workgroups = readonly [number, number?, number?];

/**
 * One command encoder shared by many dispatches, submitted once per flush.
 * Dispatches go into one open compute pass (cheapest on every driver); a copy
 * closes it. The owner flushes on readback, on request, or when
 * `maxDispatchesPerSubmit` is reached, so the GPU can start on long chains
 * before the JS has recorded all of them, and buffers released meanwhile
 * become reusable sooner (fewer new bind groups, ~16 µs each in Dawn). On
 * lavapipe a chain of 2000 small ops cost 54 µs/op at 256 per submit, 33 at 32.
 */
export class CommandBatcher {
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private pending = 0;
  /** Number of queue submits so far. */
  submits = 0;
  /** Number of dispatches so far. */
  dispatches = 0;
  /** When set, every dispatch is timed (own pass with timestamps, or wall). */
  timer: KernelTimer | undefined;
  private inBatch = false;
  /** Kernels dispatched since the last `takeWork()`, for the readback waiter's history. */
  private work: string[] = [];
  private workCount = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Runs after every submit (the runtime recycles released buffers). */
    private readonly afterSubmit: () => void,
    public maxDispatchesPerSubmit = 32,
    /**
     * Dispatches per submit inside `batch` (a compiled call, whose fused
     * kernels each do more work than eager's). Submitting in chunks lets the
     * device start on the first kernels while the host records the rest:
     * the 12-block W9 on lavapipe (busy 2 vCPU, medians of 6 and 10 calls,
     * compiled / eager wall time) 0.85 and 0.95 in one submit, 0.71 and 0.75
     * at 8 per submit.
     */
    public maxDispatchesPerBatchSubmit = 8,
  ) {}

  /**
   * What was dispatched since the last call, as a short signature (the first
   * kernels' names and the count): a readback after the same work takes
   * about as long again, a readback after other work may not.
   */
  takeWork(): string {
    const signature = `${this.workCount}:${this.work.join(',')}`;
    this.work = [];
    this.workCount = 0;
    return signature;
  }

  /** True when commands are recorded but not submitted. */
  get hasPending(): boolean {
    return this.encoder !== undefined;
  }

  get pendingDispatches(): number {
    return this.pending;
  }

  dispatch(pipeline: GPUComputePipeline, bindGroups: readonly GPUBindGroup[], workgroups: Workgroups, label?: string): void {
    const [x, y = 1, z = 1] = workgroups;
    if (x * y * z === 0) return; // nothing to do; an empty grid is legal but wasteful
    const timestamps = this.timer?.timestampWrites(label ?? pipeline.label);
    if (timestamps) this.endPass();
    const pass = timestamps ? this.commandEncoder().beginComputePass({ timestampWrites: timestamps }) : this.computePass();
    pass.setPipeline(pipeline);
    bindGroups.forEach((group, i) => pass.setBindGroup(i, group));
    pass.dispatchWorkgroups(x, y, z);
    if (timestamps) pass.end();
    this.pending++;
    this.dispatches++;
    if (this.workCount++ < 16) this.work.push(label ?? pipeline.label);
    if (this.timer?.method === 'wall') this.timer.wallMark(label ?? pipeline.label, () => this.flush());
    else if (this.pending >= (this.inBatch ? this.maxDispatchesPerBatchSubmit : this.maxDispatchesPerSubmit)) this.flush();
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /**
   * Records what `fn` dispatches (a compiled graph's call), submitting every
   * `maxDispatchesPerBatchSubmit` dispatches and once at the end.
   */
  batch<T>(fn: () => T): T {
    const outer = this.inBatch;
    this.inBatch = true;
    try {
      return fn();
    } finally {
      this.inBatch = outer;
      if (!outer) this.flush();
    }
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    if (this.encoder) {
      this.endPass();
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = undefined;
      this.submits++;
    }
    this.pending = 0;
    this.afterSubmit();
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }
}
