/**
 * A compiled graph: scheduled kernels built by one target (../targets),
 * planned memory, and `run(inputs) -> outputs`. A call reads the dynamic
 * sizes off its inputs (they go to the kernels as metadata, so a new size
 * needs no new kernel), draws its random streams, allocates only its
 * outputs, runs externs as their eager ops, and launches the other kernels
 * in order on the target, as one unit of its work. Nothing here depends on
 * which target it is.
 */
import { allocStorage, execute, inferMeta, KilnError, Tensor, takeRandom, views } from '@kiln/eager';
import type { Kernel } from '../codegen/kernel';
import { externSource } from '../codegen/kernel';
import type { CompileStages } from '../compile';
import type { InputNode, IRNode, RandomOp } from '../ir/nodes';
import { isStatic, numelOf, sizeValue } from '../ir/size';
import type { LoweredGraph } from '../lower-graph';
import type { Schedule, ScheduledKernel } from '../schedule';
import type { CompileMode, RowStrategy, Target, TargetKernel } from '../targets/target';
import { kernelGraphNodes } from './kernel-origins';
import { type MemoryPlan, planMemory } from './memory-plan';

export interface KernelReport {
  name: string;
  fusedOps: string[];
  kind: Kernel['kind'];
  source: string;
  /** Ids of the graph nodes this kernel computes (`graph.nodes[id]`), for drawing the graph by kernel. */
  graphNodes: number[];
  /** Set when the graph's target had another target build this kernel: which, and why. */
  fallback?: { target: string; reason: string };
  /** Under max-autotune: the kernel's tuned choice, whether it came from the cache, or that tuning is under way. */
  readonly autotune?: string;
}

interface Prepared {
  scheduled: ScheduledKernel;
  source: string;
  /** The target's build of the kernel; none for an extern, which runs as its eager op. */
  built?: TargetKernel<unknown>;
}

export class CompiledGraph {
  readonly kernels: KernelReport[];
  /** Number of dynamic sizes the kernels take as metadata. */
  readonly symCount: number;
  /** Time the target spent building the kernels from their text (pipelines, functions), in ms. */
  readonly buildMs: number;
  /** Where the compile's time went (set by compileGraph). */
  stages: CompileStages | undefined;
  /** What reports say about the graph as a whole (max-autotune with nothing to tune). */
  readonly note: string | undefined;
  private readonly prepared: Prepared[];
  private readonly plan: MemoryPlan;
  /** The planned intermediates' buffers, by slot, kept between calls. */
  private readonly slots: unknown[] = [];
  private readonly randomOps: RandomOp[];
  private readonly inputs: readonly InputNode[];
  private readonly outputs: readonly IRNode[];
  private readonly graph: LoweredGraph;
  /** Intermediates an extern reads: they live in eager tensors during a call. */
  private readonly externInputs: IRNode[];

  /** Builds every kernel of `schedule` on `target`. */
  constructor(
    readonly target: Target,
    readonly schedule: Schedule,
    graph: LoweredGraph,
    rowStrategy: RowStrategy = 'auto',
    readonly mode: CompileMode = 'default',
  ) {
    this.graph = graph;
    this.inputs = graph.inputs;
    this.outputs = graph.outputs;
    this.symCount = graph.symbols.length;
    this.plan = planMemory(schedule.kernels, new Set(graph.outputs));
    // Random streams are drawn in graph order, as eager draws them op by op.
    const used = new Set(schedule.kernels.flatMap((k) => k.kernel.randomSources));
    this.randomOps = graph.nodes.flatMap((n) => (n.kind === 'pointwise' ? n.randomOps : [])).filter((r) => used.has(r.source));
    this.externInputs = schedule.kernels.flatMap((k) => (k.kernel.kind === 'extern' ? k.reads.filter((r) => r.kind !== 'input') : []));
    const options = { symCount: this.symCount, rowStrategy, mode };
    // Tuning allocates the kernel's buffers at their sizes (all static where there are no dynamic sizes).
    const staticCount = (n: IRNode) => sizeValue(numelOf(n.shape), []);
    const elements = (s: ScheduledKernel) =>
      mode === 'max-autotune' && this.symCount === 0
        ? { elements: { reads: s.reads.map(staticCount), writes: s.writes.map(staticCount) } }
        : {};
    this.prepared = schedule.kernels.map((s): Prepared => {
      if (s.kernel.kind === 'extern') return { scheduled: s, source: externSource(s.kernel) };
      const built = target.compile(s.kernel, { ...options, ...elements(s) });
      return { scheduled: s, source: built.source, built };
    });
    this.buildMs = this.prepared.reduce((ms, p) => ms + (p.built?.buildMs ?? 0), 0);
    this.kernels = this.prepared.map((p) => {
      const report: KernelReport = {
        name: p.scheduled.kernel.name,
        fusedOps: p.scheduled.kernel.fusedOps,
        kind: p.scheduled.kernel.kind,
        source: p.source,
        graphNodes: kernelGraphNodes(p.scheduled, graph.origins),
        ...(p.built?.fallback ? { fallback: p.built.fallback } : {}),
      };
      const autotune = p.built?.autotune?.bind(p.built);
      // Read when reported: a tuning under way finishes after the compile.
      return autotune ? Object.defineProperty(report, 'autotune', { get: autotune, enumerable: true }) : report;
    });
    if (mode === 'max-autotune' && !this.kernels.some((k) => k.autotune !== undefined)) {
      this.note = `max-autotune: nothing to tune on ${target.device} (no kernel of this graph has tile choices)`;
    }
  }

  /**
   * Runs the graph on `inputs` (dtypes and static sizes as compiled);
   * returns new output tensors, the call's kernels run as one unit of the
   * target's work (webgpu: recorded together, submitted in chunks).
   */
  run(inputs: readonly Tensor[]): Tensor[] {
    return this.target.run(() => this.runKernels(inputs));
  }

  private runKernels(inputs: readonly Tensor[]): Tensor[] {
    if (inputs.length !== this.inputs.length) {
      throw new KilnError(`expected ${this.inputs.length} inputs, got ${inputs.length}`, { op: 'compiled graph' });
    }
    const syms = this.symValues(inputs);
    // The kernels read each input as a dense buffer from element 0; any other layout (strided, or a
    // dense view at a storage offset such as a slice of a batch) is copied into one first.
    const args = inputs.map((t) => (t.offset === 0 && views.isContiguous(t.layout) ? t : denseCopy(t)));
    const params =
      this.randomOps.length > 0 ? new Map(this.randomOps.map((r) => [r.source, takeRandom(sizeValue(r.numel, syms))])) : undefined;
    const count = (n: IRNode) => sizeValue(numelOf(n.shape), syms);
    // Values an extern reads or writes live in eager tensors for this call; the rest in planned buffers.
    const tensors = new Map<IRNode, Tensor>(this.inputs.map((n) => [n, args[n.position]!]));
    const tensorOf = (n: IRNode) =>
      new Tensor(allocStorage(this.target.device, n.dtype, count(n)), views.contiguousView(n.shape.map((s) => sizeValue(s, syms))));
    for (const nodes of [this.externInputs, this.outputs])
      for (const n of nodes) if (!tensors.has(n) && n.kind !== 'extern') tensors.set(n, tensorOf(n));
    const buffer = (n: IRNode): unknown => {
      const t = tensors.get(n);
      return t ? this.target.bufferOf(t.storage) : this.slotBuffer(n, count(n));
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
      // The metadata words: the sizes, then each random source's offset and seed (64 bits each, low word first).
      const words = kernel.randomSources.length === 0 ? syms : [...syms];
      for (const source of kernel.randomSources) {
        const { seed, offset } = params!.get(source)!;
        words.push(offset >>> 0, Math.floor(offset / 2 ** 32) >>> 0, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
      }
      p.built!.launch(reads.map(buffer), writes.map(buffer), { syms, words });
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

  /** The planned buffer of an intermediate, grown when this call's sizes need more than it holds. */
  private slotBuffer(n: IRNode, count: number): unknown {
    const slot = this.plan.slotOf.get(n);
    if (slot === undefined) throw new KilnError(`no buffer planned for node ${n.id} (scheduler bug)`, { op: 'inductor' });
    const buffer = this.target.allocate(n.dtype, count, this.slots[slot]);
    this.slots[slot] = buffer;
    return buffer;
  }

  /** Frees the planned intermediate buffers (outputs belong to the caller). */
  dispose(): void {
    for (const b of this.slots) if (b !== undefined) this.target.release(b);
    this.slots.length = 0;
  }
}

/** A new contiguous tensor at offset 0 with `t`'s elements (`contiguous()` keeps an offset view as it is). */
function denseCopy(t: Tensor): Tensor {
  return execute('cast', [t], { dtype: t.dtype }, { shape: t.shape, dtype: t.dtype, device: t.device });
}
