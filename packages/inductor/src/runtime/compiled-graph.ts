/**
 * A compiled graph: scheduled kernels rendered for one device, planned
 * memory, and `run(inputs) -> outputs`. A call reads the dynamic sizes off
 * its inputs (they go to the kernels as metadata, so a new size needs no new
 * kernel), draws its random streams, allocates only its outputs, and
 * records every kernel into the device's shared encoder (webgpu) or runs the
 * JS kernels in order (cpu).
 */
import {
  allocStorage,
  type Device,
  type DType,
  execute,
  inferMeta,
  KilnError,
  philoxFill,
  type Storage,
  Tensor,
  type TypedArray,
  takeRandom,
  views,
} from '@kiln/eager';
import {
  DEFAULT_TILES,
  defaultRowStrategy,
  ELEMENT_THREADS,
  gpuBufferOf,
  gridFor,
  hostDataOf,
  type RowStrategy as KernelRowStrategy,
  type MatmulVariant,
  matmulInfoWords,
  planMatmul,
  rowGrid,
} from '@kiln/eager/kernels';
import { type GpuRuntime, indexError } from '@kiln/gpu-runtime';
import type { Kernel, MatmulKernel } from '../codegen/kernel';
import { metadataWords } from '../codegen/kernel';
import { buildJs, type JsKernel, renderJs } from '../codegen/render-js';
import { externSource, renderWgsl } from '../codegen/render-wgsl';
import type { CompileStages } from '../compile';
import type { Index, Size } from '../ir/expr';
import type { InputNode, IRNode, RandomOp } from '../ir/nodes';
import { isStatic, numelOf, sizeValue } from '../ir/size';
import type { LoweredGraph } from '../lower-graph';
import type { Schedule, ScheduledKernel } from '../schedule';
import { kernelGraphNodes } from './kernel-origins';
import { type MemoryPlan, planMemory } from './memory-plan';

export interface KernelReport {
  name: string;
  fusedOps: string[];
  kind: Kernel['kind'];
  source: string;
  /** Ids of the graph nodes this kernel computes (`graph.nodes[id]`), for drawing the graph by kernel. */
  graphNodes: number[];
}

interface Prepared {
  scheduled: ScheduledKernel;
  source: string;
  /** cpu: the JS function. */
  js?: JsKernel;
  /** webgpu pointwise and row kernels: the pipeline and how many items its threads cover. */
  pipeline?: GPUComputePipeline;
  vec4?: boolean;
  strategy?: KernelRowStrategy;
  /** The kernel checks indices: the assert buffer is bound after its outputs. */
  asserts?: boolean;
  /** webgpu matmul: a pipeline per template variant, made on first use (the variant depends on sizes). */
  matmulPipelines?: Map<MatmulVariant, { pipeline: GPUComputePipeline; source: string }>;
}

const BYTES: Record<Device, Record<DType, number>> = {
  cpu: { float32: 4, int32: 4, bool: 1 },
  webgpu: { float32: 4, int32: 4, bool: 4 },
};

/** How row kernels spread rows over threads ('auto': defaultRowStrategy of the traced sizes). */
export type RowStrategy = KernelRowStrategy | 'auto';

/**
 * Most workgroups a pointwise kernel's grid-stride loop is given. On lavapipe
 * fewer, longer-running workgroups won: W1 at 1M elements took 3.0 ms of GPU
 * time with 256 workgroups, 4.6 ms with 1024 (equal at 4M).
 */
const POINTWISE_WORKGROUPS = 256;

export class CompiledGraph {
  readonly kernels: KernelReport[];
  /** Number of dynamic sizes the kernels take as metadata. */
  readonly symCount: number;
  /** Time spent making pipelines (webgpu) or JS functions (cpu) from kernel text, in ms. */
  buildMs = 0;
  /** Where the compile's time went (set by compileGraph). */
  stages: CompileStages | undefined;
  private readonly prepared: Prepared[];
  private readonly plan: MemoryPlan;
  private readonly slots: (GPUBuffer | ArrayBuffer | undefined)[] = [];
  private readonly randomOps: RandomOp[];
  private readonly inputs: readonly InputNode[];
  private readonly outputs: readonly IRNode[];
  private readonly graph: LoweredGraph;
  /** Intermediates an extern reads: they live in eager tensors during a call. */
  private readonly externInputs: IRNode[];

  /** Builds every kernel of `schedule` for `device` (webgpu needs its initialized runtime `rt`). */
  constructor(
    readonly device: Device,
    readonly schedule: Schedule,
    graph: LoweredGraph,
    private readonly rt: GpuRuntime | undefined,
    private readonly rowStrategy: RowStrategy = 'auto',
  ) {
    if (device === 'webgpu' && !rt) throw new KilnError('compiling for webgpu needs the initialized runtime', { op: 'inductor' });
    this.graph = graph;
    this.inputs = graph.inputs;
    this.outputs = graph.outputs;
    this.symCount = graph.symbols.length;
    this.plan = planMemory(schedule.kernels, new Set(graph.outputs));
    // Random streams are drawn in graph order, as eager draws them op by op.
    const used = new Set(schedule.kernels.flatMap((k) => k.kernel.randomSources));
    this.randomOps = graph.nodes.flatMap((n) => (n.kind === 'pointwise' ? n.randomOps : [])).filter((r) => used.has(r.source));
    this.externInputs = schedule.kernels.flatMap((k) => (k.kernel.kind === 'extern' ? k.reads.filter((r) => r.kind !== 'input') : []));
    this.prepared = schedule.kernels.map((s) => this.prepare(s));
    this.kernels = this.prepared.map((p) => ({
      name: p.scheduled.kernel.name,
      fusedOps: p.scheduled.kernel.fusedOps,
      kind: p.scheduled.kernel.kind,
      source: p.source,
      graphNodes: kernelGraphNodes(p.scheduled, graph.origins),
    }));
  }

  private prepare(s: ScheduledKernel): Prepared {
    const k = s.kernel;
    if (k.kind === 'extern') return { scheduled: s, source: externSource(k) };
    if (this.device === 'cpu') {
      const source = renderJs(k, this.symCount);
      return { scheduled: s, source, js: this.timed(() => buildJs(source)) };
    }
    if (k.kind === 'matmul') {
      // Rendered for the layout of the traced sizes; other sizes may pick another variant at run time.
      const p: Prepared = { scheduled: s, source: '', matmulPipelines: new Map() };
      p.source = this.matmulPipeline(p, this.plannedMatmul(k, this.exampleSyms()).variant).source;
      return p;
    }
    const strategy = k.kind === 'rows' ? this.strategyOf(numelOf(k.outer), numelOf(k.inner)) : 'thread';
    const rendered = renderWgsl(k, { workgroupSize: ELEMENT_THREADS, rowStrategy: strategy, symCount: this.symCount });
    const pipeline = this.timed(() => this.rt!.pipeline({ wgsl: rendered.source, label: k.name }));
    return { scheduled: s, source: rendered.source, pipeline, vec4: rendered.vec4, strategy, asserts: rendered.asserts };
  }

  private timed<T>(make: () => T): T {
    const started = performance.now();
    try {
      return make();
    } finally {
      this.buildMs += performance.now() - started;
    }
  }

  /** A row kernel's strategy; with a dynamic size the default is by thread (no sizes to judge by). */
  private strategyOf(rows: Size, rowLength: Size): KernelRowStrategy {
    if (this.rowStrategy !== 'auto') return this.rowStrategy;
    return isStatic(rows) && isStatic(rowLength) ? defaultRowStrategy(rows, rowLength) : 'thread';
  }

  /**
   * Runs the graph on `inputs` (dtypes and static sizes as compiled);
   * returns new output tensors. On webgpu the kernels of the call are
   * submitted in chunks (batcher.batch), the first while the rest are recorded.
   */
  run(inputs: readonly Tensor[]): Tensor[] {
    return this.rt ? this.rt.batcher.batch(() => this.runKernels(inputs)) : this.runKernels(inputs);
  }

  private runKernels(inputs: readonly Tensor[]): Tensor[] {
    if (inputs.length !== this.inputs.length) {
      throw new KilnError(`expected ${this.inputs.length} inputs, got ${inputs.length}`, { op: 'compiled graph' });
    }
    const syms = this.symValues(inputs);
    // The kernels read each input as a dense buffer from element 0; any other layout (strided, or a
    // dense view at a storage offset such as a slice of a batch) is copied into one first.
    const args = inputs.map((t) => (t.offset === 0 && views.isContiguous(t.layout) ? t : denseCopy(t)));
    const params = new Map(this.randomOps.map((r) => [r.source, takeRandom(sizeValue(r.numel, syms))]));
    const count = (n: IRNode) => sizeValue(numelOf(n.shape), syms);
    // Values an extern reads or writes live in eager tensors for this call; the rest in planned buffers.
    const tensors = new Map<IRNode, Tensor>(this.inputs.map((n) => [n, args[n.position]!]));
    const tensorOf = (n: IRNode) =>
      new Tensor(allocStorage(this.device, n.dtype, count(n)), views.contiguousView(n.shape.map((s) => sizeValue(s, syms))));
    for (const n of [...this.externInputs, ...this.outputs]) if (!tensors.has(n) && n.kind !== 'extern') tensors.set(n, tensorOf(n));
    const buffer = (n: IRNode): GPUBuffer | TypedArray => {
      const t = tensors.get(n);
      return t ? this.storageData(t.storage) : this.slotData(n, count(n));
    };
    for (const p of this.prepared) {
      const { kernel, reads, writes } = p.scheduled;
      if (kernel.kind === 'extern') {
        const ins = kernel.args.map((a) => (typeof a === 'number' ? tensors.get(reads[a]!)! : a.scalar));
        const out = execute(kernel.op, ins, kernel.attrs as never, inferMeta(kernel.op, ins, kernel.attrs as never));
        // A movement op gives a view (a slice at an offset): the kernels after it read dense buffers from element 0.
        const dense = out.offset === 0 && views.isContiguous(out.layout) ? out : denseCopy(out);
        if (dense !== out) out.dispose();
        tensors.set(writes[0]!, dense);
        continue;
      }
      const words = [...syms];
      for (const source of kernel.randomSources) {
        const { seed, offset } = params.get(source)!;
        words.push(offset >>> 0, Math.floor(offset / 2 ** 32) >>> 0, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
      }
      if (this.device === 'cpu') {
        p.js!(
          reads.map((r) => buffer(r) as TypedArray),
          writes.map((w) => buffer(w) as TypedArray),
          words,
          cpuRandom,
          failIndex,
        );
      } else {
        this.dispatch(
          p,
          reads.map((r) => buffer(r) as GPUBuffer),
          writes.map((w) => buffer(w) as GPUBuffer),
          words,
          syms,
        );
      }
    }
    // Graph inputs are returned as the caller's own tensors; everything else this call made and does not return is freed.
    const results = this.outputs.map((o) => (o.kind === 'input' ? inputs[(o as InputNode).position]! : tensors.get(o)!));
    const kept = new Set<Tensor>([...results, ...args, ...inputs]);
    for (const t of tensors.values()) if (!kept.has(t)) t.dispose();
    args.forEach((t, i) => t !== inputs[i] && t.dispose());
    return results;
  }

  /** The value of each dynamic size in this call; inputs must agree where they share one, and match the static sizes. */
  private symValues(inputs: readonly Tensor[]): number[] {
    this.inputs.forEach((n, i) => {
      const t = inputs[i]!;
      const ok = t.ndim === n.shape.length && n.shape.every((s, d) => !isStatic(s) || s === t.shape[d]) && t.dtype === n.dtype;
      if (!ok) {
        const want = n.shape.map((s) => (isStatic(s) ? s : '?')).join(',');
        throw new KilnError(`input ${i} must be ${n.dtype}[${want}], got ${t.dtype}[${t.shape}]`, { op: 'compiled graph' });
      }
    });
    return this.graph.symbols.map((uses, k) => {
      const [first, ...rest] = uses.map(({ input, dim }) => inputs[input]!.shape[dim]!);
      if (rest.some((v) => v !== first)) {
        const where = uses.map(({ input, dim }) => `input ${input} dim ${dim}`).join(', ');
        throw new KilnError(`dynamic size s${k} differs between ${where}: ${[first, ...rest].join(' vs ')}`, { op: 'compiled graph' });
      }
      return first!;
    });
  }

  private exampleSyms(): number[] {
    // Any positive sizes will do to pick the traced layout's variant; 8 keeps alignment-friendly sizes aligned.
    return this.graph.symbols.map(() => 8);
  }

  private plannedMatmul(k: MatmulKernel, syms: readonly number[]) {
    const ev = (ix: Index) => evalIndex(ix, syms);
    const batch = k.batch.map((s) => sizeValue(s, syms));
    const [M, N, K] = [k.M, k.N, k.K].map((s) => sizeValue(s, syms)) as [number, number, number];
    return planMatmul(
      { shape: [...batch, M, K], strides: k.a.strides.map(ev), offset: ev(k.a.offset) },
      { shape: [...batch, K, N], strides: k.b.strides.map(ev), offset: ev(k.b.offset) },
      0,
      this.rt!.limits.maxComputeWorkgroupsPerDimension,
    );
  }

  private matmulPipeline(p: Prepared, variant: MatmulVariant): { pipeline: GPUComputePipeline; source: string } {
    let made = p.matmulPipelines!.get(variant);
    if (!made) {
      const k = p.scheduled.kernel as MatmulKernel;
      const source = renderWgsl(k, {
        workgroupSize: ELEMENT_THREADS,
        rowStrategy: 'thread',
        symCount: this.symCount,
        matmul: { variant, tile: DEFAULT_TILES[variant] },
      }).source;
      made = { pipeline: this.timed(() => this.rt!.pipeline({ wgsl: source, label: k.name })), source };
      p.matmulPipelines!.set(variant, made);
    }
    return made;
  }

  private dispatch(p: Prepared, reads: GPUBuffer[], writes: GPUBuffer[], words: number[], syms: readonly number[]): void {
    const rt = this.rt!;
    const k = p.scheduled.kernel;
    if (k.kind === 'matmul') {
      const launch = this.plannedMatmul(k, syms);
      const { pipeline } = this.matmulPipeline(p, launch.variant);
      const extra = k.epilogueInputs.map((i) => reads[i]!);
      const info = new Uint32Array([...launch.info, ...syms]);
      if (info.length !== matmulInfoWords(k.batch.length) + syms.length)
        throw new KilnError('matmul metadata mismatch (bug)', { op: 'inductor' });
      rt.dispatch(pipeline, [rt.uniform(info), reads[k.a.input]!, reads[k.b.input]!, writes[0]!, ...extra], launch.grid, k.name);
      return;
    }
    const meta = new Uint32Array(Math.max(4, metadataWords(this.symCount, k.randomSources.length)));
    meta.set(words);
    let grid: number;
    if (k.kind === 'pointwise') {
      const items = sizeValue(numelOf(k.shape), syms) / (p.vec4 ? 4 : 1);
      grid = gridFor(items, ELEMENT_THREADS, POINTWISE_WORKGROUPS);
    } else if (k.kind === 'rows') {
      const rows = sizeValue(numelOf(k.outer), syms);
      grid = rowGrid(p.strategy!, rows);
    } else {
      throw new KilnError('externs do not dispatch (bug)', { op: 'inductor' });
    }
    rt.dispatch(p.pipeline!, [rt.uniform(meta), ...reads, ...writes, ...(p.asserts ? [rt.assertBuffer] : [])], [grid], k.name);
  }

  private storageData(s: Storage): GPUBuffer | TypedArray {
    return this.device === 'webgpu' ? gpuBufferOf(s) : hostDataOf(s);
  }

  /** The planned buffer of an intermediate, grown when this call's sizes need more than it holds. */
  private slotData(n: IRNode, count: number): GPUBuffer | TypedArray {
    const slot = this.plan.slotOf.get(n);
    if (slot === undefined) throw new KilnError(`no buffer planned for node ${n.id} (scheduler bug)`, { op: 'inductor' });
    const bytes = Math.max(16, count * BYTES[this.device][n.dtype]);
    if (this.device === 'webgpu') {
      let b = this.slots[slot] as GPUBuffer | undefined;
      if (!b || b.size < bytes) {
        if (b) this.rt!.release(b);
        this.slots[slot] = b = this.rt!.alloc(bytes, `kiln-slot-${slot}`);
      }
      return b;
    }
    let ab = this.slots[slot] as ArrayBuffer | undefined;
    if (!ab || ab.byteLength < bytes) this.slots[slot] = ab = new ArrayBuffer(bytes);
    return n.dtype === 'float32'
      ? new Float32Array(ab, 0, count)
      : n.dtype === 'int32'
        ? new Int32Array(ab, 0, count)
        : new Uint8Array(ab, 0, count);
  }

  /** Frees the planned intermediate buffers (outputs belong to the caller). */
  dispose(): void {
    if (this.rt) for (const b of this.slots) if (b) this.rt.release(b as GPUBuffer);
    this.slots.length = 0;
  }
}

/** A new contiguous tensor at offset 0 with `t`'s elements (`contiguous()` keeps an offset view as it is). */
function denseCopy(t: Tensor): Tensor {
  return execute('cast', [t], { dtype: t.dtype }, { shape: t.shape, dtype: t.dtype, device: t.device });
}

/** An index expression's value for this call's dynamic sizes (no loop variables). */
function evalIndex(ix: Index, syms: readonly number[]): number {
  switch (ix.kind) {
    case 'int':
      return ix.value;
    case 'sym':
      return syms[ix.sym]!;
    case 'add':
      return evalIndex(ix.a, syms) + evalIndex(ix.b, syms);
    case 'mul':
      return evalIndex(ix.a, syms) * evalIndex(ix.b, syms);
    case 'div':
      return Math.floor(evalIndex(ix.a, syms) / evalIndex(ix.b, syms));
    case 'mod':
      return evalIndex(ix.a, syms) % evalIndex(ix.b, syms);
    case 'min':
      return Math.min(evalIndex(ix.a, syms), evalIndex(ix.b, syms));
    default:
      throw new KilnError(`cannot evaluate a ${ix.kind} index outside a kernel (bug)`, { op: 'inductor' });
  }
}

const failIndex: Parameters<JsKernel>[4] = (site, index, size) => {
  throw indexError(site, index, size);
};

/** The Philox stream for JS kernels: the same numbers as eager's cpu and webgpu kernels. */
const one = new Float32Array(1);
const cpuRandom: Parameters<JsKernel>[3] = (dist, lo, hi, seedLo, seedHi, index) => {
  philoxFill(one, dist === 0 ? 'uniform' : 'normal', seedLo + seedHi * 2 ** 32, lo + hi * 2 ** 32 + index);
  return one[0]!;
};
