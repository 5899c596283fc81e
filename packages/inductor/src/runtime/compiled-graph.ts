/**
 * A compiled graph: scheduled kernels rendered for one device, planned
 * memory, and `run(inputs) -> outputs`. A call draws its random streams,
 * allocates only its outputs, and records every kernel into the device's
 * shared encoder (webgpu) or runs the JS kernels in order (cpu).
 */
import {
  allocStorage, KilnError, philoxFill, planMatmul, takeRandom, Tensor, views,
  type Device, type DType, type GpuStorage, type Storage, type TypedArray,
} from '@kiln/eager';
import type { GpuRuntime } from '@kiln/gpu-runtime';
import type { Kernel } from '../codegen/kernel';
import { metadataWords } from '../codegen/kernel';
import { buildJs, renderJs, type JsKernel } from '../codegen/render-js';
import { renderWgsl } from '../codegen/render-wgsl';
import type { InputNode, IRNode, RandomOp } from '../ir/nodes';
import type { LoweredGraph } from '../lower-graph';
import type { Schedule, ScheduledKernel } from '../schedule';
import { planMemory, type MemoryPlan } from './memory-plan';

export interface KernelReport {
  name: string;
  fusedOps: string[];
  kind: Kernel['kind'];
  source: string;
}

interface Prepared {
  scheduled: ScheduledKernel;
  source: string;
  /** webgpu: the pipeline and its grid; cpu: the JS function. */
  pipeline?: GPUComputePipeline;
  grid?: [number, number, number];
  matmulInfo?: number[];
  js?: JsKernel;
}

const BYTES: Record<Device, Record<DType, number>> = {
  cpu: { float32: 4, int32: 4, bool: 1 },
  webgpu: { float32: 4, int32: 4, bool: 4 },
};

export class CompiledGraph {
  readonly kernels: KernelReport[];
  private readonly prepared: Prepared[];
  private readonly plan: MemoryPlan;
  private readonly slots: (GPUBuffer | ArrayBuffer | undefined)[] = [];
  private readonly randomOps: RandomOp[];

  private readonly inputs: readonly InputNode[];
  private readonly outputs: readonly IRNode[];

  /** Builds every kernel of `schedule` for `device` (webgpu needs its initialized runtime `rt`). */
  constructor(
    readonly device: Device,
    readonly schedule: Schedule,
    graph: LoweredGraph,
    private readonly rt: GpuRuntime | undefined,
    rowStrategy: 'thread' | 'workgroup' | 'auto' = 'auto',
  ) {
    if (device === 'webgpu' && !rt) throw new KilnError('compiling for webgpu needs the initialized runtime', { op: 'inductor' });
    this.inputs = graph.inputs;
    this.outputs = graph.outputs;
    this.plan = planMemory(schedule.kernels, new Set(graph.outputs), (n) => numel(n) * BYTES[device][n.dtype]);
    // Random streams are drawn in graph order, as eager draws them op by op.
    const used = new Set(schedule.kernels.flatMap((k) => k.kernel.randomSources));
    this.randomOps = graph.nodes.flatMap((n) => (n.kind === 'pointwise' ? n.randomOps : [])).filter((r) => used.has(r.source));
    this.prepared = schedule.kernels.map((s) => this.prepare(s, rowStrategy));
    this.kernels = this.prepared.map((p) => ({ name: p.scheduled.kernel.name, fusedOps: p.scheduled.kernel.fusedOps, kind: p.scheduled.kernel.kind, source: p.source }));
  }

  private prepare(s: ScheduledKernel, rowStrategy: 'thread' | 'workgroup' | 'auto'): Prepared {
    const k = s.kernel;
    if (this.device === 'cpu') {
      const source = renderJs(k, 0);
      return { scheduled: s, source, js: buildJs(source) };
    }
    const rt = this.rt!;
    if (k.kind === 'matmul') {
      const shape = (rows: number, cols: number) => [...k.batch, rows, cols];
      const launch = planMatmul(
        { shape: shape(k.M, k.K), strides: k.a.strides, offset: k.a.offset },
        { shape: shape(k.K, k.N), strides: k.b.strides, offset: k.b.offset },
        0, rt.limits.maxComputeWorkgroupsPerDimension,
      );
      const source = renderWgsl(k, { workgroupSize: 256, rowStrategy: 'thread', symCount: 0, matmul: launch }).source;
      return { scheduled: s, source, pipeline: rt.pipeline({ wgsl: source, label: k.name }), grid: launch.grid, matmulInfo: launch.info };
    }
    const rows = k.kind === 'rows' ? numelOf(k.outer) : 0;
    const strategy = k.kind === 'rows' ? (rowStrategy === 'auto' ? (rows < 64 && numelOf(k.inner) >= 256 ? 'workgroup' : 'thread') : rowStrategy) : 'thread';
    const rendered = renderWgsl(k, { workgroupSize: 256, rowStrategy: strategy, symCount: 0 });
    let grid: [number, number, number];
    if (k.kind === 'pointwise') {
      const items = numelOf(k.shape) / (rendered.vec4 ? 4 : 1);
      grid = [Math.max(1, Math.min(1024, Math.ceil(items / rendered.workgroupSize))), 1, 1];
    } else {
      grid = [strategy === 'thread' ? Math.max(1, Math.min(1024, Math.ceil(rows / 64))) : Math.max(1, Math.min(rows, 65535)), 1, 1];
    }
    return { scheduled: s, source: rendered.source, pipeline: rt.pipeline({ wgsl: rendered.source, label: k.name }), grid };
  }

  /** Runs the graph on `inputs` (shapes and dtypes as compiled); returns new output tensors. */
  run(inputs: readonly Tensor[]): Tensor[] {
    if (inputs.length !== this.inputs.length) {
      throw new KilnError(`expected ${this.inputs.length} inputs, got ${inputs.length}`, { op: 'compiled graph' });
    }
    // The kernels were built for these layouts; anything else is copied into one first.
    const args = inputs.map((t, i) => this.conform(t, this.inputs[i]!));
    const params = new Map(this.randomOps.map((r) => [r.source, takeRandom(r.numel)]));
    const outputStorage = new Map<IRNode, Storage>();
    for (const o of this.outputs) {
      if (o.kind !== 'input' && !outputStorage.has(o)) outputStorage.set(o, allocStorage(this.device, o.dtype, numel(o)));
    }
    const buffer = (n: IRNode): GPUBuffer | TypedArray => {
      if (n.kind === 'input') return this.storageData(args[n.position]!.storage);
      const out = outputStorage.get(n);
      if (out) return this.storageData(out);
      return this.slotData(n);
    };
    for (const p of this.prepared) {
      const { kernel, reads, writes } = p.scheduled;
      const words: number[] = [];
      for (const source of kernel.randomSources) {
        const { seed, offset } = params.get(source)!;
        words.push(offset >>> 0, Math.floor(offset / 2 ** 32) >>> 0, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
      }
      if (this.device === 'cpu') {
        p.js!(reads.map((r) => buffer(r) as TypedArray), writes.map((w) => buffer(w) as TypedArray), words, cpuRandom);
      } else {
        this.dispatch(p, reads.map((r) => buffer(r) as GPUBuffer), writes.map((w) => buffer(w) as GPUBuffer), words);
      }
    }
    const inputTensor = new Map(this.inputs.map((n, i) => [n as IRNode, inputs[i]!]));
    const made = new Map<Storage, Tensor>();
    return this.outputs.map((o) => {
      if (o.kind === 'input') return inputTensor.get(o)!;
      const storage = outputStorage.get(o)!;
      // The same value returned twice is the same tensor, as in eager.
      let t = made.get(storage);
      if (!t) made.set(storage, (t = new Tensor(storage, views.contiguousView(o.shape as number[]))));
      return t;
    });
  }

  private dispatch(p: Prepared, reads: GPUBuffer[], writes: GPUBuffer[], words: number[]): void {
    const rt = this.rt!;
    const k = p.scheduled.kernel;
    if (k.kind === 'matmul') {
      const extra = reads.filter((_, i) => i !== k.a.input && i !== k.b.input);
      const bindings = [rt.uniform(new Uint32Array(p.matmulInfo!)), reads[k.a.input]!, reads[k.b.input]!, writes[0]!, ...extra];
      rt.dispatch(p.pipeline!, bindings, p.grid!, k.name);
      return;
    }
    const meta = new Uint32Array(Math.max(4, metadataWords(0, k.randomSources.length)));
    meta.set(words);
    rt.dispatch(p.pipeline!, [rt.uniform(meta), ...reads, ...writes], p.grid!, k.name);
  }

  private conform(t: Tensor, n: InputNode): Tensor {
    const same = t.offset === n.offset && t.strides.every((s, d) => s === n.strides[d] || t.shape[d] === 1);
    return same ? t : t.contiguous();
  }

  private storageData(s: Storage): GPUBuffer | TypedArray {
    return this.device === 'webgpu' ? (s as GpuStorage).buffer : (s as Storage & { data: TypedArray }).data;
  }

  private slotData(n: IRNode): GPUBuffer | TypedArray {
    const slot = this.plan.slotOf.get(n);
    if (slot === undefined) throw new KilnError(`no buffer planned for node ${n.id} (scheduler bug)`, { op: 'inductor' });
    const bytes = Math.max(16, this.plan.slotBytes[slot]!);
    if (this.device === 'webgpu') {
      let b = this.slots[slot] as GPUBuffer | undefined;
      if (!b) this.slots[slot] = b = this.rt!.alloc(bytes, `kiln-slot-${slot}`);
      return b;
    }
    let ab = this.slots[slot] as ArrayBuffer | undefined;
    if (!ab) this.slots[slot] = ab = new ArrayBuffer(bytes);
    const count = numel(n);
    return n.dtype === 'float32' ? new Float32Array(ab, 0, count) : n.dtype === 'int32' ? new Int32Array(ab, 0, count) : new Uint8Array(ab, 0, count);
  }

  /** Frees the planned intermediate buffers (outputs belong to the caller). */
  dispose(): void {
    if (this.rt) for (const b of this.slots) if (b) this.rt.release(b as GPUBuffer);
    this.slots.length = 0;
  }
}

function numelOf(shape: readonly unknown[]): number {
  return (shape as number[]).reduce((a, b) => a * b, 1);
}

function numel(n: IRNode): number {
  return numelOf(n.shape);
}

/** The Philox stream for JS kernels: the same numbers as eager's cpu and webgpu kernels. */
const one = new Float32Array(1);
const cpuRandom: Parameters<JsKernel>[3] = (dist, lo, hi, seedLo, seedHi, index) => {
  philoxFill(one, dist === 0 ? 'uniform' : 'normal', seedLo + seedHi * 2 ** 32, lo + hi * 2 ** 32 + index);
  return one[0]!;
};
