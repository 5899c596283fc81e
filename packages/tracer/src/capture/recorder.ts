/**
 * Capture: the dispatcher mode that runs while a compiled function's
 * JavaScript runs. Every op becomes a pending LazyTensor (see ./lazy); the
 * tensors the JavaScript passes in are held (pinned) for as long as the call
 * may still compute from them. Nothing is computed until something needs a
 * value:
 *
 * - a graph break: reading data (`item`, `data`, `toArray`), coercing a
 *   lazy tensor to a primitive, calling a `disable`d function, or an op that
 *   runs eagerly (in-place writes, device transfers). The graph so far that
 *   the break needs is compiled and run (a segment, found by structure in
 *   the entry's cache), the value goes to the JavaScript, and recording goes
 *   on;
 * - the end of the call: the segment that computes the returned tensors.
 *
 * Random ops run in the first segment after them, in record order, so the
 * random stream advances as it does in eager. Before an in-place write,
 * every pending tensor that reads the memory being written is computed
 * first. Views stay views of the memory they view.
 */

import type { AttrsOf, CompositeOp, Decomposition, Input, Mode, MovementOp, OpName, Storage, TensorMeta, View } from '@kiln/eager';
import {
  checkWritable,
  DECOMPOSITIONS,
  dispatch,
  execute,
  isGradEnabled,
  KilnError,
  MOVEMENT,
  runRecorded,
  setMode,
  storagesMade,
  Tensor,
  VJP,
  views,
  withMode,
} from '@kiln/eager';
import { logEnabled } from '@kiln/gpu-runtime';
import type { TracedGraph } from '../backend';
import { HIDDEN, isProxy, readData } from '../guards/property-reads';
import type { SourceInfo } from '../source/analysis';
import { carriesGrad, resultNeedsGrad } from '../training/grad-flags';
import { lazyBackward } from '../training/lazy-backward';
import { runTraining } from '../training/run-training';
import { segmentGrad, takeGradFns, takeViewGradFn } from '../training/segment-grad';
import type { BreakKind, BreakLog, GraphBreak } from './breaks';
import { fullgraphError, locate, methodName, userSite } from './breaks';
import type { CompiledSegment, GraphCache } from './graph-cache';
import type { LazyArg, Materializer } from './lazy';
import { LazyTensor, nextSequence, Owned, Pin, sameLayout } from './lazy';
import type { IntegerInput, LeafInfo, PlanContext, SegmentPlan } from './segment';
import { buildGraph, planSegment } from './segment';
import type { SizeObservation } from './symbolic-sizes';
import { isRandom, tracingRule, writesInPlace } from './tracing-rules';

/** What a recorder needs from the compiled function and the cache entry it records for. */
export interface RecorderHost {
  readonly name: string;
  readonly graphs: GraphCache;
  readonly fullgraph: boolean;
  readonly source: SourceInfo | null;
  /** Whether to find each break's source location (costs a stack trace). */
  readonly locate: boolean;
  /** What KILN_LOGS=graph_breaks has printed of the function's breaks (kept across its calls). */
  readonly breakLog: BreakLog;
  /**
   * The function may keep tensors somewhere other than its result (the
   * source analysis says so): every tensor it makes is computed by the end
   * of the call, each in the first graph that needs it.
   */
  readonly escapes: boolean;
  /** The name and dynamic dims of a tensor the JavaScript received as an input. */
  leafInfo(t: Tensor): LeafInfo | undefined;
  /** The integer JS numbers of this call, by input path (which are dynamic). */
  integers(): readonly IntegerInput[];
  /** Whether the graph of `plan`, not in the cache, may be compiled (the `index`th graph of the call; false: the recompile limit, it runs op by op). */
  admit(plan: SegmentPlan, index: number, graph: TracedGraph): boolean;
}

/** One graph that ran during the call. */
export interface SegmentRun {
  readonly segment: CompiledSegment;
  readonly plan: SegmentPlan;
  /** Compiled during this call (not found in the cache). */
  readonly fresh: boolean;
  /** The segment that computed the call's results. */
  readonly final: boolean;
  /** In-place writes into the caller's memory this graph computed, written back after it (`running (float32[6]): 2 writes`). */
  writes?: string[];
}

/** What a traced call did: its graph breaks, and the graphs it ran in order. */
export interface TracedCall {
  /** The compiled function's name. */
  readonly name: string;
  readonly breaks: readonly GraphBreak[];
  readonly runs: readonly SegmentRun[];
  /** In-place writes into memory the call did not make (inputs, closed-over tensors): applied after the graph. */
  readonly memoryWrites: number;
}

const isMovement = (op: OpName): op is MovementOp => op in MOVEMENT;

/** The tensor a lazy one is computed from: itself, or the base of its chain of pending views. */
export function rootOf(t: Tensor): Tensor {
  let r = t;
  while (r instanceof LazyTensor && r.real === null && r.viewOf !== null) r = r.viewOf;
  return r;
}

export class Recorder implements Mode, Materializer, PlanContext, TracedCall {
  readonly breaks: GraphBreak[] = [];
  readonly runs: SegmentRun[] = [];
  /** The first fullgraph error (thrown again at the end if the function caught it). */
  failure: KilnError | null = null;
  memoryWrites = 0;
  private readonly lazies: LazyTensor[] = [];
  private randoms: LazyTensor[] = [];
  private readonly pins = new Map<Tensor, Pin>();
  private readonly deferred: LazyTensor[] = [];
  private active = true;
  /** Final outputs the caller gets as the backend returned them (no tracer-held reference). */
  private direct: Set<LazyTensor> | null = null;
  /** In-place writes of this call not yet in memory, by storage (a real tensor's) or pending tensor written. */
  private readonly written = new Map<object, StorageWrites>();
  /** Whole-storage views of real tensors written in place, released at the end. */
  private readonly flats: Pin[] = [];
  /** Pending tensors that must be real by the end of the call although nothing returns them (gradients a backward() put in `.grad`). */
  private readonly untilEnd: LazyTensor[] = [];
  /** The last break, not logged until the graph it needs has run (see BreakLog): its number, and the runs before it. */
  private unlogged: { readonly b: GraphBreak; readonly index: number; readonly runs: number } | null = null;

  /** When the graph being traced began: the call's start, then the end of the graph before (its trace time, in reports). */
  private tracedSince = performance.now();
  /** Storages that existed when the call began (what it made are numbered after). */
  private readonly storagesBefore = storagesMade();

  constructor(readonly host: RecorderHost) {}

  get name(): string {
    return this.host.name;
  }

  // ---- Mode ----

  call<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor {
    const rule = tracingRule(op);
    if (rule.kind === 'record') {
      // As eager records it: a composite that differentiates through its decomposition is recorded as the ops of its decomposition.
      if (VJP[op] === 'decomposition' && this.active && resultNeedsGrad(op, inputs, meta)) {
        return (DECOMPOSITIONS[op as CompositeOp] as Decomposition<CompositeOp>)(inputs, attrs as AttrsOf[CompositeOp]);
      }
      return this.record(op, inputs, attrs, meta);
    }
    if (rule.kind === 'functionalize' && this.active)
      return this.functionalize(op as 'copy_' | 'fill_', inputs, attrs as AttrsOf['copy_' | 'fill_']);
    const x = inputs[0];
    if (op === 'to' && x instanceof Tensor && x.device === meta.device) {
      // Same device: eager returns a view of the same memory, which is a reshape to the same shape.
      return this.record('reshape', inputs, { shape: x.shape }, meta);
    }
    return this.runEagerly(op, inputs, attrs, meta, rule.kind === 'break' ? rule.why : 'writes in place after the call ended');
  }

  backward(t: Tensor, gradient: Tensor | null, retainGraph: boolean): void {
    lazyBackward(this, t, gradient, retainGraph);
  }

  read(t: Tensor): void {
    const what = this.describe(t);
    this.graphBreak('read', (m) => (m ? `.${m}() reads the data of ${what}` : `reading the data of ${what}`));
    if (t instanceof LazyTensor) t.materialized();
  }

  // ---- Materializer ----

  materialize(ts: readonly LazyTensor[]): void {
    const mine: LazyTensor[] = [];
    for (const t of ts) {
      if (t.real !== null) continue;
      if (t.owner !== this) t.materialized();
      else mine.push(t);
    }
    if (mine.length === 0) return;
    if (!this.active) {
      this.afterCall(mine);
      return;
    }
    this.compute(mine, false);
  }

  coerced(t: LazyTensor): void {
    if (!this.active) return; // after the call: plain eager behaviour
    const what = this.describe(t);
    this.graphBreak(
      'coercion',
      () =>
        `coercing ${what} to a primitive (+t, t > 0, if (t), ...) needs its value synchronously, which eager refuses too; use await t.item()`,
    );
  }

  deferRelease(t: LazyTensor): boolean {
    if (!this.active) return false;
    this.deferred.push(t);
    return true;
  }

  // ---- recording ----

  private record(op: OpName, inputs: readonly Input[], attrs: AttrsOf[OpName], meta: TensorMeta): LazyTensor {
    let layout: View | null = null;
    if (isMovement(op)) {
      // The layout eager would give; the rule throws where eager would (view of incompatible strides).
      const rule = MOVEMENT[op] as (v: View, a: AttrsOf[OpName]) => View | null;
      layout = rule((this.arg(inputs[0]!) as Tensor).layout, attrs);
    }
    // A view is of the tensor itself (it aliases, and sees later writes); any other op, and a movement op
    // that copies (contiguous or reshape of a strided view), reads memory written in place as it is now.
    const view = layout !== null;
    const args: LazyArg[] = new Array<LazyArg>(inputs.length);
    for (let i = 0; i < inputs.length; i++) args[i] = view ? this.arg(inputs[i]!) : this.current(this.arg(inputs[i]!));
    const viewOf = view ? (args[0] as Tensor) : null;
    const t = new LazyTensor(this, op, args, attrs, meta, layout ?? views.contiguousView(meta.shape), viewOf);
    t.needsGrad = resultNeedsGrad(op, args, meta);
    this.lazies.push(t);
    if (isRandom(op)) this.randoms.push(t);
    return t;
  }

  private arg(x: Input): LazyArg {
    if (!(x instanceof Tensor)) return x;
    // This call's own pin of an input (a backward rule reading what an op read).
    if (x instanceof Pin && this.pins.get(x.source) === x) return x;
    if (x instanceof LazyTensor) {
      // A pending tensor of another call is computed by that call's recorder; here it is an input.
      if (x.owner !== this && x.real === null) x.materialized();
      return x;
    }
    let pin = this.pins.get(x);
    if (!pin) {
      pin = new Pin(x);
      this.pins.set(x, pin);
    }
    return pin;
  }

  // ---- in-place writes (functionalization) ----

  /**
   * An in-place write (`copy_`, `fill_`; `add_` and the others are an op then
   * `copy_`) recorded as a value: the written storage's elements after the
   * write are `scatterView(elements before, value, dst's view)`. A pending
   * tensor is redefined as that (the ops recorded before keep reading a
   * snapshot of it); the memory of a real tensor is written at the end of
   * the call (or before anything reads it eagerly), and until then what
   * reads it reads the new value. Versions count each write, as in eager.
   */
  private functionalize(op: 'copy_' | 'fill_', inputs: readonly Input[], attrs: AttrsOf['copy_' | 'fill_']): Tensor {
    const dst = inputs[0] as Tensor;
    checkWritable(op, dst);
    if (isGradEnabled() && !(dst instanceof LazyTensor && dst.real === null) && carriesGrad(dst)) {
      throw new KilnError(
        `${dst.describe()} requires grad: writing it in place with grad mode on is an error for a leaf (as in eager) and is not supported ` +
          'inside a compiled function for a tensor with a history; write it inside noGrad(() => ...) as optimizers do, or write into a clone()',
        { op },
      );
    }
    const value = withMode(this, () =>
      op === 'copy_'
        ? (inputs[1] as Tensor).expand(dst.shape).cast(dst.dtype)
        : dispatch('full', [], { shape: dst.shape, value: (attrs as AttrsOf['fill_']).value, dtype: dst.dtype, device: dst.device }),
    ) as LazyTensor;
    const root = rootOf(dst);
    const pending = root instanceof LazyTensor && root.real === null;
    const real = pending ? null : root instanceof LazyTensor ? root.real! : root;
    const key: object = pending ? root : real!.storage;
    let w = this.written.get(key);
    const before = pending ? this.readersToSnapshot(root as LazyTensor) : null;
    if (!w) {
      w = {
        elements: before ? this.record('reshape', [before], { shape: [before.numel] }, before) : this.elementsOf(real!.storage),
        writes: [],
        target: this.describe(root),
      };
      this.written.set(key, w);
    }
    const view = { shape: dst.shape, strides: dst.layout.strides, offset: dst.layout.offset };
    w.elements = this.record('scatterView', [w.elements, value], view, w.elements);
    if (pending) {
      (root as LazyTensor).redefine('reshape', [w.elements], { shape: root.shape });
      (root as LazyTensor).needsGrad = w.elements.needsGrad;
      // Its pending views now view the new value: they move after it, in the order they were made.
      for (const l of this.lazies) if (l.real === null && l.viewOf !== null && rootOf(l) === root) l.seq = nextSequence();
    } else {
      w.writes.push({ layout: dst.layout, value, storage: real!.storage });
      real!.storage.version++;
      this.memoryWrites++;
    }
    return dst;
  }

  /** A real storage's elements as a 1-D tensor (read as they are before this call's writes). */
  private elementsOf(storage: Storage): LazyTensor {
    const flat = new Pin(new Tensor(storage, views.contiguousView([storage.numel])));
    this.flats.push(flat);
    return this.record('reshape', [flat], { shape: [storage.numel] }, flat);
  }

  /**
   * Pending tensor `t` is about to be written in place: the ops recorded so
   * far that read it (directly, or through its pending views) read, from now
   * on, a snapshot of it as it is (returned). Its views keep viewing `t`:
   * they see the write, as in eager.
   */
  private readersToSnapshot(t: LazyTensor): LazyTensor {
    const old = t.snapshot();
    const onOld = new Map<LazyTensor, LazyTensor>([[t, old]]);
    const redirect = (a: LazyArg): LazyArg => {
      if (!(a instanceof LazyTensor) || a.real !== null) return a;
      const known = onOld.get(a);
      if (known) return known;
      if (a.viewOf === null || rootOf(a) !== t) return a;
      // A pending view of `t`: the same view of the snapshot.
      const base = redirect(a.viewOf) as LazyTensor;
      const copy = new LazyTensor(this, a.op, [base, ...a.args!.slice(1)], a.attrs, a, a.layout, base);
      copy.seq = a.seq;
      copy.needsGrad = a.needsGrad;
      onOld.set(a, copy);
      return copy;
    };
    for (const l of this.lazies) {
      if (l === t || l.real !== null || l.viewOf !== null || l.args === null) continue;
      if (l.args.some((a) => a === t || (a instanceof LazyTensor && a.viewOf !== null && rootOf(a) === t))) l.args = l.args.map(redirect);
    }
    return old;
  }

  /** What an op reads for `a`: memory with pending in-place writes is read as its value after them. */
  private current(a: LazyArg): LazyArg {
    if (this.written.size === 0 || !(a instanceof Tensor)) return a;
    const root = rootOf(a);
    if (root instanceof LazyTensor && root.real === null) return a; // a pending tensor is redefined by its writes
    const w = this.written.get((root instanceof LazyTensor ? root.real! : root).storage);
    if (!w || w.writes.length === 0) return a;
    const { shape, strides, offset } = a.layout;
    return this.record('asStrided', [w.elements], { shape, strides, offset }, a);
  }

  /** Writes pending in-place writes into the real memory they are for (at the end of the call, and at a break: before anything reads memory eagerly). */
  private writeBack(atBreak: boolean): void {
    const pending = [...this.written.values()].filter((w) => w.writes.length > 0);
    if (pending.length === 0) return;
    const values = pending.flatMap((w) => liveWrites(w.writes).map((x) => x.value));
    // At a break, what was recorded before a write reads the memory as it was: it is computed with the values, before the memory changes.
    const readers = atBreak ? this.readersOf(new Set(pending.map((w) => w.writes[0]!.storage))) : [];
    this.compute([...values, ...readers], false);
    const run = this.runs.at(-1);
    if (run) run.writes = pending.map((w) => `${w.target}: ${w.writes.length} write${w.writes.length === 1 ? '' : 's'}`);
    withMode(null, () => {
      for (const w of pending) {
        const storage = w.writes[0]!.storage;
        const version = storage.version;
        for (const x of liveWrites(w.writes)) {
          const dst = new Tensor(storage, x.layout);
          execute('copy_', [dst, x.value.real!], {}, dst);
          dst.dispose();
          if (sameLayout(x.value.layout, x.layout)) x.value.settleInto(storage);
        }
        storage.version = version; // the writes were counted when the function made them
        w.writes.length = 0;
      }
    });
    this.written.clear();
  }

  private describe(t: Tensor): string {
    const origin = t instanceof Pin ? t.source : t;
    const info = t instanceof LazyTensor ? undefined : this.host.leafInfo(origin);
    const type = `${t.dtype}[${t.shape.join(',')}]`;
    if (info) return `input ${info.name} (${type})`;
    return t instanceof LazyTensor ? `a traced tensor ${type}` : `a tensor the function closes over ${type}`;
  }

  // ---- graph breaks ----

  /** Records a break (with its location when wanted); under fullgraph, throws the fullgraph error. */
  graphBreak(kind: BreakKind, reason: (method: string | null) => string): GraphBreak {
    const wanted = this.host.locate || this.host.fullgraph || logEnabled('graph_breaks');
    const site = wanted ? userSite() : null;
    const method = site ? methodName(site.kilnFn) : null;
    const text = reason(method);
    const where = wanted ? locate(site, this.host.source, method) : { location: null, codeFrame: null };
    const b: GraphBreak = { kind, reason: text, location: where.location, codeFrame: where.codeFrame };
    this.breaks.push(b);
    this.logBreak();
    // What runs eagerly at a break may read memory written in place: the writes go to memory first.
    if (!this.host.fullgraph) this.writeBack(true);
    this.unlogged = { b, index: this.breaks.length, runs: this.runs.length };
    if (this.host.fullgraph) {
      this.logBreak(true);
      const e = fullgraphError(this.host.name, b);
      this.failure ??= e;
      throw e;
    }
    return b;
  }

  /** Logs the last break, as new when the first graph that ran after it was compiled then (or `fresh`). */
  private logBreak(fresh = false): void {
    const u = this.unlogged;
    if (!u) return;
    this.unlogged = null;
    this.host.breakLog.note(this.host.name, u.index, u.b, fresh || (this.runs[u.runs]?.fresh ?? false));
  }

  /** An op with no graph rule: break, make its inputs real, and run it eagerly. */
  private runEagerly(op: OpName, inputs: readonly Input[], attrs: AttrsOf[OpName], meta: TensorMeta, why: string): Tensor {
    this.graphBreak('op', (m) => `${m && m !== 'dispatch' ? `.${m}()` : op} ${why}`);
    const lazies = inputs.filter((x): x is LazyTensor => x instanceof LazyTensor);
    this.materialize(lazies);
    if (writesInPlace(op)) this.beforeWrite((inputs[0] as Tensor).storage);
    return withMode(null, () => runRecorded(op, inputs, attrs, meta));
  }

  /**
   * `storage` is about to be written in place: every pending tensor that
   * reads it is computed now, from the values it has before the write (as
   * eager computed them). Pending views of it stay views: they see the write.
   */
  beforeWrite(storage: Storage): void {
    if (!this.active) return;
    const todo = this.readersOf(new Set([storage]));
    if (todo.length > 0) this.compute(todo, false);
  }

  /** The pending roots that read any of `storages` (directly, or through pending tensors). */
  private readersOf(storages: ReadonlySet<Storage>): LazyTensor[] {
    const memo = new Map<LazyTensor, boolean>();
    const reads = (t: LazyTensor): boolean => {
      let r = memo.get(t);
      if (r !== undefined) return r;
      r = false;
      for (const a of t.args ?? []) {
        if (typeof a !== 'object') continue;
        if (a instanceof LazyTensor) r = a.real !== null ? storages.has(a.real.storage) : reads(a);
        else r = storages.has(a.storage);
        if (r) break;
      }
      memo.set(t, r);
      return r;
    };
    const todo = new Set<LazyTensor>();
    for (const t of this.lazies) {
      if (t.real !== null || t.isDisposed) continue;
      const root = rootOf(t);
      if (root instanceof LazyTensor && root.real === null && !todo.has(root) && reads(root)) todo.add(root);
    }
    return [...todo];
  }

  // ---- computing ----

  /**
   * Makes `ts` real: their pending roots (and every pending random op) run
   * in one graph per device; then views become views of their real bases.
   * Intermediates the graph computes anyway are kept (made real) when the
   * function may keep them elsewhere, and when a later graph needed them the
   * last time this structure ran (see planSegment).
   */
  private compute(ts: readonly LazyTensor[], final: boolean): void {
    const roots = new Set<LazyTensor>();
    for (const t of ts) {
      const r = rootOf(t);
      if (r instanceof LazyTensor && r.real === null) roots.add(r);
    }
    for (const r of this.randoms) if (r.real === null) roots.add(r);
    this.randoms = [];
    const devices = new Map<string, LazyTensor[]>();
    for (const r of roots) {
      const group = devices.get(r.device);
      if (group) group.push(r);
      else devices.set(r.device, [r]);
    }
    for (const group of devices.values()) this.runSegment(group, final);
    for (const t of ts) if (t.real === null) this.resolveView(t);
  }

  private runSegment(targets: readonly LazyTensor[], final: boolean): void {
    const plan = planSegment(targets, this, final);
    const index = this.runs.length;
    const grad = segmentGrad(plan);
    const { segment, fresh } = this.host.graphs.lookup(
      plan,
      () => buildGraph(plan),
      (g) => this.host.admit(plan, index, g),
      this.tracedSince,
      grad.spec ?? undefined,
    );
    const previous = setMode(null);
    try {
      const results = segment.training
        ? runTraining(segment.training, this.host.name, plan.leaves, plan.origins)
        : segment.run(plan.leaves);
      if (results.length !== plan.outputs.length) {
        throw new KilnError(`the backend returned ${results.length} outputs for a graph with ${plan.outputs.length}`, { op: 'compile' });
      }
      // A backend may return one tensor for several outputs (an op that returns its input, such as dropout in eval): release each once, after all took it.
      const taken = new Set<Tensor>();
      const release = new Set<Tensor>();
      for (let i = 0; i < results.length; i++) {
        const t = plan.outputs[i]!;
        const raw = results[i]!;
        if (!(raw instanceof Tensor) || raw.dtype !== t.dtype || raw.device !== t.device || raw.shape.join() !== t.shape.join()) {
          throw new KilnError(
            `the backend returned ${raw instanceof Tensor ? raw.describe() : String(raw)} for output ${i} of a graph, expected ${t.dtype}[${t.shape}] on ${t.device}`,
            { op: 'compile' },
          );
        }
        const leaf = plan.leaves.includes(raw) || raw instanceof Owned;
        const root = rootOf(t);
        if (this.direct?.has(t) && !leaf && !taken.has(raw) && sameLayout(raw.layout, t.layout)) {
          t.real = raw;
          t.takeWrites(raw.storage);
        } else {
          if (t.viewOf !== null && !sameLayout(raw.layout, t.layout) && !(root instanceof LazyTensor && root.real === null)) {
            // A view (of an expanded or strided tensor, say) of memory that is already real: it is that memory, as in eager.
            this.resolveView(t);
          } else t.adopt(raw);
          if (!leaf) release.add(raw);
        }
        taken.add(raw);
      }
      if (segment.training || grad.usedUp.length > 0) takeGradFns(plan, results, grad, this.host.name);
      for (const raw of release) if (![...plan.outputs].some((t) => t.real === raw)) raw.dispose();
    } finally {
      setMode(previous);
    }
    // Where each node ran: a later graph that needs it (computed again, or kept here) teaches this structure to keep it.
    for (const n of plan.nodes) {
      n.ranIn = plan.baseKey;
      n.ranSlot = n.slot;
    }
    this.runs.push({ segment, plan, fresh, final });
    this.tracedSince = performance.now();
  }

  // ---- PlanContext ----

  extra(nodes: readonly LazyTensor[]): readonly LazyTensor[] {
    return this.host.escapes ? nodes.filter((n) => !n.isDisposed && n.viewOf === null) : [];
  }

  wanted(baseKey: string): ReadonlySet<number> | undefined {
    return this.host.graphs.wanted(baseKey);
  }

  observations(template: string): readonly SizeObservation[] {
    return this.host.graphs.observations(template);
  }

  integers(): readonly IntegerInput[] {
    return this.host.integers();
  }

  observe(template: string, o: SizeObservation): void {
    this.host.graphs.observe(template, o);
  }

  recomputed(baseKey: string, slot: number): void {
    this.host.graphs.recomputed(baseKey, slot);
  }

  leafInfo(origin: Tensor): LeafInfo | undefined {
    return this.host.leafInfo(origin);
  }

  madeDuringCall(t: Tensor): boolean {
    return (t.storage.born ?? 0) > this.storagesBefore;
  }

  /** A pending view whose base is real becomes a real view of the same memory (and of its base's history, as in eager). */
  private resolveView(t: LazyTensor): void {
    const root = rootOf(t);
    const base = root instanceof LazyTensor ? root.real : root;
    if (base === null) throw new KilnError(`internal: the base of ${t} was not computed`, { op: 'compile' });
    t.adoptView(base.storage);
    if (t.needsGrad) takeViewGradFn(t);
  }

  /** A pending alias of `t` (which the code disposed): the same value, for a backward rule to read. */
  alias(t: LazyTensor): LazyTensor {
    return this.record('view', [t], { shape: t.shape }, t);
  }

  /** `t` (pending) must be real by the end of the call. */
  keepUntilEnd(t: LazyTensor): void {
    this.untilEnd.push(t);
  }

  /** A pending tensor used after its call ended, which the source analysis did not see escape. */
  private afterCall(ts: readonly LazyTensor[]): void {
    const roots = ts.map(rootOf).filter((r): r is LazyTensor => r instanceof LazyTensor && r.real === null);
    if (roots.length > 0) {
      const plan = planSegment(roots, AFTER_CALL);
      const gone = plan.leaves.find((l) => l.isDisposed);
      if (gone) {
        throw new KilnError(
          `${ts[0]} was made by compiled function ${this.host.name || '<anonymous>'} and used after the call without being computed, ` +
            'and the tensors it depends on are no longer held. The source analysis did not see this tensor leave the function; ' +
            'returning it from the function keeps it.',
          { op: 'compile' },
        );
      }
      const graph = buildGraph(plan);
      const outs = withMode(null, () => this.host.graphs.backend.compile(graph, plan.leaves).run(plan.leaves));
      plan.outputs.forEach((t, i) => withMode(null, () => t.adopt(outs[i]!)));
    }
    for (const t of ts) if (t.real === null) this.resolveView(t);
  }

  // ---- the end of the call ----

  /**
   * The call returned `value`: computes the tensors in it (and, when the
   * function may have kept tensors elsewhere, every pending tensor it made).
   * `end()` then lets go of the inputs.
   */
  finish(value: unknown): unknown {
    const found: LazyTensor[] = [];
    const opaque = collectOutputs(value, found);
    for (const t of found) if (t.owner !== this) t.materialized();
    const outputs = found.filter((t) => t.owner === this);
    const writes = [...this.written.values()].flatMap((w) => liveWrites(w.writes).map((x) => x.value));
    writes.push(...this.untilEnd.filter((t) => !t.isDisposed));
    if (this.host.escapes || opaque) {
      this.compute([...outputs, ...writes, ...this.lazies.filter((t) => t.real === null && !t.isDisposed)], true);
      this.writeBack(false);
      return value;
    }
    // Nothing else can hold these lazy tensors: the caller gets the backend's results themselves.
    this.direct = new Set(outputs);
    this.compute([...outputs, ...writes], true);
    this.direct = null;
    this.writeBack(false);
    return withRealTensors(value, this);
  }

  /** Computes every pending tensor of the call (when the rest of an async call cannot be captured). */
  flush(): void {
    if (this.active)
      this.compute(
        this.lazies.filter((t) => t.real === null && !t.isDisposed),
        false,
      );
  }

  /** Ends the call: lets go of its inputs and of the memory of tensors it disposed. */
  end(): void {
    if (!this.active) return;
    this.logBreak();
    this.active = false;
    for (const p of this.pins.values()) p.release();
    this.pins.clear();
    for (const f of this.flats) f.release();
    this.flats.length = 0;
    for (const t of this.deferred) t.releaseReal();
    this.deferred.length = 0;
    this.randoms = [];
  }
}

/** The pending in-place writes into one storage: its elements after them, and what to write into real memory. */
interface StorageWrites {
  elements: LazyTensor;
  /** What is written, as a person reads it. */
  target: string;
  writes: { layout: View; value: LazyTensor; storage: Storage }[];
}

/** The writes whose effect is not all overwritten by a later write to the same view. */
function liveWrites<W extends { layout: View }>(writes: readonly W[]): W[] {
  const key = (v: View) => `${v.shape}|${v.strides}|${v.offset}`;
  return writes.filter((w, i) => !writes.slice(i + 1).some((later) => key(later.layout) === key(w.layout)));
}

/** Planning for a tensor used after its call: nothing extra, nothing learned. */
const AFTER_CALL: PlanContext = { extra: () => [], wanted: () => undefined, recomputed: () => {}, leafInfo: () => undefined };

/**
 * `value` with each lazy tensor of `rec` that holds a backend result directly
 * replaced by that result. Arrays and plain objects holding such a tensor
 * were made by the function (it keeps nothing, so it filled no one else's)
 * and are rebuilt; any other value is returned as it is.
 */
function withRealTensors(value: unknown, rec: Recorder): unknown {
  if (value instanceof LazyTensor) return value.owner === rec && value.real !== null && !(value.real instanceof Owned) ? value.real : value;
  if (typeof value !== 'object' || value === null || value instanceof Tensor) return value;
  let changed = false;
  if (Array.isArray(value)) {
    const out = value.map((v) => {
      const r = withRealTensors(v, rec);
      if (r !== v) changed = true;
      return r;
    });
    return changed ? out : value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = withRealTensors(v, rec);
    if (out[k] !== v) changed = true;
  }
  return changed ? out : value;
}

/**
 * Lazy tensors in a result (arrays and plain objects walked, data
 * properties only); true when it holds something else that could hold
 * them: a function, a class instance, a getter or a Proxy (never run here).
 */
function collectOutputs(v: unknown, out: LazyTensor[], seen = new Set<object>()): boolean {
  if (v === HIDDEN || typeof v === 'function') return true;
  if (typeof v !== 'object' || v === null) return false;
  if (isProxy(v)) return true;
  if (v instanceof LazyTensor) {
    out.push(v);
    return false;
  }
  if (v instanceof Tensor || seen.has(v)) return false;
  seen.add(v);
  let opaque = false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) opaque = collectOutputs(readData(v, i), out, seen) || opaque;
    return opaque;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return true;
  for (const k of Object.keys(v)) opaque = collectOutputs(readData(v, k), out, seen) || opaque;
  return opaque;
}
