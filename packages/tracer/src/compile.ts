/**
 * `compile(fn, options)`: a function with `fn`'s signature that captures
 * what `fn` does as guarded graphs and behaves exactly like `fn`.
 *
 * A call looks for the first cache entry whose guards pass. A hit either
 * replays the entry's graph (the JavaScript is skipped: only where the
 * source analysis and the traced call show that nothing could notice) or
 * re-runs the JavaScript with lazy tensors, each segment between breaks
 * found in the entry's graph cache by structure. A miss records a
 * recompile (the guard that failed, expected and actual), marks dims whose
 * size alone changed as dynamic (`dynamic` undefined), and traces a new
 * entry; past `cacheSizeLimit` entries, calls that match none run eagerly.
 * A re-running call whose graph has a structure its entry never ran is a
 * recompile too (what changed: `slice's end was 7, now 8`); past
 * `cacheSizeLimit` such variants, the entry runs `fn` eagerly. Each case
 * warns once.
 */
import { KilnError, Tensor } from '@kiln/eager';
import { log } from '@kiln/gpu-runtime';
import { autotuned, type CompileMode, compileMode } from '@kiln/inductor';
import type { BackendOption, ResolvedBackend, TracedGraph } from './backend';
import { resolveBackend } from './backend';
import { Entry } from './cache/entry';
import { graphChange } from './cache/graph-change';
import { planReplay } from './cache/replay';
import type { CompileStats, Recompile } from './cache/stats';
import { freshStats, recompileOf } from './cache/stats';
import { BreakLog } from './capture/breaks';
import { activeRecorder, isAsyncFunction, runUnder } from './capture/context';
import { GraphCache } from './capture/graph-cache';
import type { RecorderHost, SegmentRun } from './capture/recorder';
import { Recorder } from './capture/recorder';
import type { IntegerInput, LeafInfo, SegmentPlan } from './capture/segment';
import type { ClosureRecord } from './guards/closure';
import { Closure } from './guards/closure';
import type { CodePlan } from './guards/code';
import { planCode } from './guards/code';
import type { DynamicPolicy, GuardFailure, InputSpec, Roots } from './guards/guards';
import { inputSpec, isDynamicInt } from './guards/guards';
import { isProxy, readData } from './guards/property-reads';
import type { TraceRecord } from './report/explain';
import { makeReport } from './report/explain';
import type { ExplainReport } from './report/explain-report';
import { writeReportFile } from './report/report-file';
import type { ParamName, SourceInfo } from './source/analysis';
import { analyzeFunction } from './source/analysis';

export interface CompileOptions {
  /** `'inductor'` (default), `'eager'` (runs captured graphs op by op), or a backend function. */
  backend?: BackendOption;
  /** Make the first graph break an error (a KilnError with its reason and location). */
  fullgraph?: boolean;
  /** undefined: dims become dynamic after a recompile caused only by their size; true: dynamic from the start; false: never. */
  dynamic?: boolean;
  /**
   * Cache entries kept before calls that match none run eagerly (default 8);
   * also the graph variants an entry that re-runs the JavaScript compiles
   * before its calls run eagerly (its graph changing from call to call).
   */
  cacheSizeLimit?: number;
  /**
   * 'default', or 'max-autotune': on webgpu each matmul kernel benchmarks
   * the template's tiles and variants on the device right after its graph
   * compiles (its calls use the default until then; `await autotuned()`
   * waits) and keeps the fastest, cached per adapter and shape (a file in
   * Node, memory in a browser). Explain reports each choice. The inductor's
   * option: other backends have nothing to tune.
   */
  mode?: CompileMode;
  /**
   * A getter of the function's free variables, written by the load-time
   * transform (`@kiln/tracer/register`, `kilnPlugin()` from `@kiln/tracer/vite`):
   * they are guarded, read fresh on each call, and the function can replay
   * (see ./guards/closure). null: none (the transform leaves such a call alone).
   */
  closure?: ClosureRecord | null;
}

/** Any function; its parameters are left to the caller's types. */
export type AnyFunction = (...args: never[]) => unknown;

/** An object with a `forward` method: compiled, it is a function calling `forward` with `this` bound to the object. */
export interface Module {
  forward: AnyFunction;
}

export interface CompiledExtras {
  readonly stats: CompileStats;
  /** The report of the last compile (graphs, breaks, guards, mode). */
  explain(): ExplainReport;
  /** Forgets every cache entry, mark and count. */
  reset(): void;
}

export type Compiled<F extends AnyFunction> = F & CompiledExtras;

const COMPILED = new WeakMap<object, CompiledFunction>();

type TraceKind = 'new' | 'size' | 'rerun';

export class CompiledFunction {
  readonly name: string;
  private readonly module: Module | null;
  private readonly fn: AnyFunction | null;
  private readonly backend: ResolvedBackend;
  private readonly fullgraph: boolean;
  private readonly dynamic: boolean | undefined;
  private readonly limit: number;
  private entries: Entry[] = [];
  /** Compiled graphs by structure, shared by the entries (a recompile for a guard the graph does not depend on compiles nothing). */
  private graphs: GraphCache;
  private readonly marks = new Map<string, Set<number>>();
  /** Paths of JS numbers whose value alone caused a recompile: dynamic from then on. */
  private readonly numberMarks = new Set<string>();
  private readonly policy: DynamicPolicy = {
    dims: (path, t) => this.dynamicDims(path, t),
    number: (path, v) => this.dynamic !== false && isDynamicInt(v) && this.numberMarks.has(path),
  };
  private warned = false;
  private lastTrace: TraceRecord | null = null;
  /** What each entry's first call ran (for the report). */
  private readonly traces = new WeakMap<Entry, TraceRecord>();
  private breakLog = new BreakLog();
  private readonly closure: Closure | null;
  /** What each entry found of the code it traced: what it calls, the closure it reads (see ./guards/code). */
  private readonly plans = new WeakMap<Entry, CodePlan>();
  stats: CompileStats = freshStats();

  constructor(
    target: AnyFunction | Module,
    options: CompileOptions,
    private readonly explaining = false,
  ) {
    const inner = typeof target === 'function' ? COMPILED.get(target) : undefined;
    if (inner) target = inner.module ?? inner.fn!;
    if (typeof target === 'function') {
      this.fn = target;
      this.module = null;
    } else if (typeof target === 'object' && target !== null && typeof (target as Partial<Module>).forward === 'function') {
      this.fn = null;
      this.module = target;
    } else {
      throw new KilnError(`expected a function or an object with a forward method, got ${describe(target)}`, { op: 'compile' });
    }
    this.name = this.module ? `${constructorName(this.module)}.forward` : this.fn!.name || '<anonymous>';
    this.backend = resolveBackend(options.backend, compileMode(options.mode));
    this.closure = options.closure ? new Closure(options.closure, this.name) : null;
    this.fullgraph = options.fullgraph === true;
    this.dynamic = options.dynamic;
    const limit = options.cacheSizeLimit ?? 8;
    if (!(Number.isInteger(limit) && limit >= 1)) {
      throw new KilnError(`cacheSizeLimit must be a positive integer, got ${limit}`, { op: 'compile' });
    }
    this.limit = limit;
    this.graphs = this.newGraphCache();
  }

  /**
   * The code that runs: a module's forward, read once per call as calling
   * `model.forward(x)` reads it (swapping it is guarded; a getter runs once).
   */
  private readCode(): AnyFunction {
    return this.module ? this.module.forward : this.fn!;
  }

  private newGraphCache(): GraphCache {
    return new GraphCache(this.backend, (s) => {
      this.stats.graphsCompiled++;
      log('graph', () => `${this.name}: graph ${this.stats.graphsCompiled} (${s.ops.length} ops)\n${s.graph}`);
    });
  }

  /** The function users call. */
  wrapper(): AnyFunction & CompiledExtras {
    const self = this;
    const compiled = function (this: unknown, ...args: unknown[]): unknown {
      return self.call(this, args);
    };
    Object.defineProperty(compiled, 'name', { value: this.name });
    const length = this.fn ? this.fn.length : readData(readData(this.module, 'forward'), 'length');
    Object.defineProperty(compiled, 'length', { value: typeof length === 'number' ? length : 0 });
    Object.defineProperty(compiled, 'stats', { get: () => this.stats });
    const extras = { explain: () => this.explain(), reset: () => this.reset() };
    const result = Object.assign(compiled, extras) as unknown as AnyFunction & CompiledExtras;
    COMPILED.set(result, this);
    return result;
  }

  call(thisArg: unknown, args: unknown[]): unknown {
    this.stats.calls++;
    const code = this.readCode();
    // Inside another compiled function's capture: trace through (its recorder records these ops).
    if (activeRecorder()) return this.invoke(code, thisArg, args);
    let closure: readonly unknown[] | undefined;
    if (this.closure) {
      const values = this.closure.read();
      // A variable it closes over is not initialized yet: the function runs as written (and throws if it reads it).
      if (values === null) return this.invoke(code, thisArg, args);
      closure = values;
    }
    const roots: Roots = { args, self: this.module ?? thisArg, closure };
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.guards.check(roots)) return this.hit(e, roots, thisArg, code);
    }
    return this.miss(roots, thisArg, code);
  }

  private invoke(code: AnyFunction, thisArg: unknown, args: readonly unknown[]): unknown {
    return (code as (...a: unknown[]) => unknown).apply(this.module ?? thisArg, args as unknown[]);
  }

  private hit(e: Entry, roots: Roots, thisArg: unknown, code: AnyFunction): unknown {
    if (e.mode === 'eager') {
      // Past the recompile limit (its graph kept changing): `fn` as written.
      this.stats.eagerCalls++;
      return this.invoke(code, thisArg, roots.args);
    }
    this.stats.cacheHits++;
    if (e.mode === 'replay') {
      const key = e.guards.sizesKey(roots);
      const plan = e.plans.get(key);
      if (plan) {
        const value = plan.run(roots);
        return isAsyncFunction(code) ? Promise.resolve(value) : value;
      }
      // A size not seen yet (dynamic dims): run the JavaScript once and keep a plan for it.
      if (plan === undefined) return this.trace(e, roots, thisArg, code, 'size', null);
    }
    return this.trace(e, roots, thisArg, code, 'rerun', null);
  }

  private miss(roots: Roots, thisArg: unknown, code: AnyFunction): unknown {
    let recompile: Recompile | null = null;
    if (this.entries.length > 0) {
      // Each entry's own failed guards: the newest entry's first failure is not why an older one missed.
      const all = this.entries.map((e) => e.guards.failures(roots));
      const failures = all.at(-1)!;
      recompile = recompileOf(all, this.stats.calls);
      if (this.entries.length >= this.limit) {
        this.stats.eagerCalls++;
        if (!this.warned) {
          this.warned = true;
          const text =
            `${this.name}: all ${this.limit} cache entries (cacheSizeLimit) are in use and this call matches none ` +
            `(${recompile.reason}); calls that match no entry now run eagerly, the entries keep serving the calls they match`;
          console.warn(`[kiln] ${text}`);
          log('recompiles', text);
        }
        return this.invoke(code, thisArg, roots.args);
      }
      log('recompiles', `${this.name}: recompiling (entry ${this.entries.length + 1} of at most ${this.limit}): ${recompile.reason}`);
      if (this.dynamic === undefined) this.markDynamic(failures);
    }
    const params = this.params(code);
    const self = this.module && { value: this.module, path: 'model', get: (r: Roots) => r.self };
    const plan = planCode(code, roots, self, params, this.closure);
    const spec = inputSpec(roots, params, this.module !== null, this.policy, (w) => plan.guard(w));
    const entry = new Entry(spec, this.graphs);
    this.plans.set(entry, plan);
    return this.trace(entry, roots, thisArg, code, 'new', recompile);
  }

  /** The parameters of `code`, by the names they have in the source (see ClosureRecord.renamed): the paths of the arguments. */
  private params(code: AnyFunction): readonly ParamName[] {
    const params = analyzeFunction(code).params;
    const closure = this.closure;
    if (!closure) return params;
    return params.map((p) => (p.name === null ? p : { ...p, name: closure.sourceName(p.name) }));
  }

  /**
   * After a miss whose only failed guards are sizes and integer values,
   * those dims and numbers become dynamic (sizes and numbers 0 and 1 stay
   * specialized).
   */
  private markDynamic(failures: readonly GuardFailure[]): void {
    const isInt = (text: string) => /^-?\d+$/.test(text);
    const changedNumber = (f: GuardFailure) => f.guard.kind === 'value' && isInt(f.guard.expected) && isInt(f.actual);
    if (failures.length === 0 || !failures.every((f) => f.guard.kind === 'size' || changedNumber(f))) return;
    for (const f of failures) {
      const size = Number(f.actual);
      if (!(size >= 2)) continue;
      if (changedNumber(f)) {
        if (!this.numberMarks.has(f.guard.path)) {
          this.numberMarks.add(f.guard.path);
          log('recompiles', `${this.name}: ${f.guard.path} is now dynamic (it changed from ${f.guard.expected} to ${size})`);
        }
        continue;
      }
      if (f.guard.dim === undefined) continue;
      let dims = this.marks.get(f.guard.path);
      if (!dims) this.marks.set(f.guard.path, (dims = new Set()));
      if (!dims.has(f.guard.dim)) {
        dims.add(f.guard.dim);
        log(
          'recompiles',
          `${this.name}: ${f.guard.path}.shape[${f.guard.dim}] is now dynamic (it changed from ${f.guard.expected} to ${size})`,
        );
      }
    }
  }

  private dynamicDims(path: string, t: Tensor): readonly number[] {
    if (this.dynamic === false) return [];
    const marked = this.marks.get(path);
    return t.shape.flatMap((s, d) => (s >= 2 && (this.dynamic === true || marked?.has(d)) ? [d] : []));
  }

  /** Runs the JavaScript with a recorder; for a new entry, commits it once the call succeeds. */
  private trace(entry: Entry, roots: Roots, thisArg: unknown, code: AnyFunction, kind: TraceKind, recompile: Recompile | null): unknown {
    const source = this.plans.get(entry)?.source ?? analyzeFunction(code);
    const host = new CallHost(
      this.name,
      entry,
      roots,
      this.fullgraph,
      source,
      kind === 'new' || this.explaining,
      kind === 'rerun' ? this.limit : null,
      this.stats,
      this.breakLog,
    );
    const rec = new Recorder(host);
    const isAsync = isAsyncFunction(code);
    let result: unknown;
    try {
      result = runUnder(rec, isAsync, () => this.invoke(code, thisArg, roots.args), isAsync ? () => rec.flush() : undefined);
    } catch (e) {
      this.abandon(rec, e);
      throw e;
    }
    if (isAsync && result instanceof Promise) {
      return result.then(
        (value: unknown) => this.complete(rec, host, entry, roots, code, value, kind, recompile),
        (e: unknown) => {
          this.abandon(rec, e);
          throw e;
        },
      );
    }
    return this.complete(rec, host, entry, roots, code, result, kind, recompile);
  }

  private complete(
    rec: Recorder,
    host: CallHost,
    entry: Entry,
    roots: Roots,
    code: AnyFunction,
    value: unknown,
    kind: TraceKind,
    recompile: Recompile | null,
  ): unknown {
    try {
      if (rec.failure) {
        // A fullgraph error the function caught, or a read's promise it returned: it is thrown here, once.
        if (value instanceof Promise) value.catch(() => {});
        throw rec.failure;
      }
      const result = rec.finish(value);
      this.stats.graphBreaks += rec.breaks.length;
      this.learnStructures(entry, rec.runs, host.change);
      if (kind === 'new') this.commit(entry, rec, roots, code, value, recompile);
      else if (kind === 'size') {
        const plan = planReplay(rec, entry.spec, roots, value);
        entry.plans.set(entry.guards.sizesKey(roots), typeof plan === 'string' ? null : plan);
      }
      if (kind === 'new' || this.explaining) {
        this.lastTrace = {
          breaks: [...rec.breaks],
          segments: rec.runs.map((r) => r.segment),
          writes: rec.runs.map((r) => r.writes ?? []),
          entry,
        };
        if (kind === 'new') this.traces.set(entry, this.lastTrace);
      }
      if (kind === 'new') writeReportFile(this, () => this.explain(), this.stats);
      return result;
    } finally {
      rec.end();
    }
  }

  /**
   * `fn` threw `error`: nothing is cached, and the error reaches the caller
   * unchanged. Tensors in the error, and (when the function may keep tensors
   * elsewhere) every tensor it made, are computed first, so that what the
   * caller can still reach stays valid.
   */
  private abandon(rec: Recorder, error: unknown): void {
    try {
      // An Error object holds no tensors (for this purpose); a thrown tensor, array or object may.
      if (rec.failure === null) rec.finish(error instanceof Error ? undefined : error);
    } catch {
      // The function's own error is what the caller gets.
    } finally {
      rec.end();
    }
  }

  private commit(entry: Entry, rec: Recorder, roots: Roots, code: AnyFunction, value: unknown, recompile: Recompile | null): void {
    // Two async calls traced at once may both have missed: keep the first entry.
    if (this.entries.some((e) => e.guards.check(roots))) return;
    const reasons = this.rerunReasons(entry.spec, this.plans.get(entry)!);
    if (reasons.length === 0) {
      const plan = planReplay(rec, entry.spec, roots, value);
      if (typeof plan === 'string') reasons.push(plan);
      else {
        entry.mode = 'replay';
        entry.plans.set(entry.guards.sizesKey(roots), plan);
      }
    }
    entry.modeReasons.push(...reasons);
    if (entry.mode === 're-run') {
      // It runs its code and reads its closure afresh on every call: guarding them would only cause recompiles.
      entry.spec = inputSpec(roots, this.params(code), this.module !== null, this.policy);
    }
    this.entries.push(entry);
    this.stats.entries = this.entries.length;
    if (recompile) this.stats.recompiles.push(recompile);
    log('guards', () => `${this.name}: entry ${this.entries.length} (${entry.mode}) guards:\n  ${entry.guards.texts.join('\n  ')}`);
    log(
      'perf',
      `${this.name}: entry ${this.entries.length} ${entry.mode === 'replay' ? 'replays its graph on a hit' : `re-runs the JavaScript on a hit (${reasons.join('; ')})`}`,
    );
  }

  /**
   * After a call: the graph structures it ran are the entry's. A re-running
   * call that ran one the entry had not run is a recompile (its reason: what
   * differs from the graph the last call ran there); past cacheSizeLimit
   * variants, that graph ran op by op and the entry now runs eagerly.
   */
  private learnStructures(entry: Entry, runs: readonly SegmentRun[], change: StructureChange | null): void {
    for (const r of runs) entry.structures.add(r.plan.baseKey);
    entry.lastGraphs = runs.map((r) => r.segment.graph);
    if (!change) return;
    const c = graphChange(change.before, change.after);
    const what = `graph ${change.index + 1}: ${c.subject} was ${c.was}, now ${c.now}`;
    if (change.admitted) {
      entry.variants++;
      const guard = `graph ${change.index + 1}: ${c.subject}`;
      this.stats.recompiles.push({
        reason: `the graph changed while re-running the JavaScript (${what})`,
        guard,
        expected: c.was,
        actual: c.now,
        entries: [{ entry: this.entries.indexOf(entry) + 1, guard, expected: c.was, actual: c.now }],
        call: change.call,
      });
      log('recompiles', `${this.name}: recompiling (graph variant ${entry.variants} of at most ${this.limit}): ${what}`);
      return;
    }
    const why = entry.modeReasons.join('; ');
    entry.mode = 'eager';
    entry.modeReasons = [
      `its graph changed on more calls than cacheSizeLimit (${this.limit}) allows, last ${what}; it re-ran its JavaScript because: ${why}`,
    ];
    const text =
      `${this.name}: its graph changed again (${what}) after ${this.limit} variants (cacheSizeLimit). ` +
      `It re-runs its JavaScript (${why}), so a value that changes between calls changes its graph; calls that match this entry now run eagerly`;
    console.warn(`[kiln] ${text}`);
    log('recompiles', text);
  }

  /** Why cache hits of an entry must run the JavaScript (from the code it traced and the inputs). */
  private rerunReasons(spec: InputSpec, plan: CodePlan): string[] {
    const src = plan.source;
    const reasons: string[] = [];
    if (src.opaque !== null) reasons.push(`the source cannot be analyzed: ${src.opaque}`);
    else {
      reasons.push(...plan.reasons);
      for (const s of src.sideEffects) reasons.push(`side effect at line ${s.line}: ${s.description}`);
      if (src.usesThis && !this.module) reasons.push('it uses `this`');
      if (src.isGenerator) reasons.push('it is a generator');
    }
    for (const o of spec.opaque) reasons.push(`input ${o.path} is ${o.what}, which guards cannot look into`);
    return reasons;
  }

  explain(): ExplainReport {
    const entries = this.entries.flatMap((e) => {
      const t = this.traces.get(e);
      return t ? [t] : [];
    });
    return makeReport(
      this.name,
      this.lastTrace,
      entries,
      this.stats.recompiles.map((r) => `call ${r.call}: ${r.reason}`),
      (e) => this.modeReason(e),
    );
  }

  /** Why `entry` replays, re-runs, or runs eagerly. */
  private modeReason(entry: Entry): string {
    if (entry.mode !== 'replay') return entry.modeReasons.join('; ');
    const plan = this.plans.get(entry);
    const methods = plan && plan.methods.length > 0 ? `; methods analyzed: ${plan.methods.join(', ')}` : '';
    if (plan?.guarded) {
      return (
        `closures guarded by the load-time transform (${plan.guarded.join(', ') || 'none read'})${methods}; ` +
        'no graph break and no side effect: a cache hit runs the graph without the JavaScript'
      );
    }
    return `no graph break, no side effect and no free variable${methods}: a cache hit runs the graph without the JavaScript`;
  }

  reset(): void {
    this.entries = [];
    this.graphs = this.newGraphCache();
    this.marks.clear();
    this.warned = false;
    this.lastTrace = null;
    this.breakLog = new BreakLog();
    this.stats = freshStats();
  }
}

/** A re-running call that ran a graph structure its entry had not run. */
interface StructureChange {
  /** The graph's place in the call. */
  readonly index: number;
  /** The graph the entry's last call ran there, if any. */
  readonly before: TracedGraph | undefined;
  readonly after: TracedGraph;
  /** Compiled (within cacheSizeLimit variants); false: it ran op by op. */
  readonly admitted: boolean;
  readonly call: number;
}

/** What a recorder needs to know about the call it records. */
class CallHost implements RecorderHost {
  readonly graphs: GraphCache;
  readonly escapes: boolean;
  /** The first new structure this call ran (a re-running call only). */
  change: StructureChange | null = null;
  private byTensor: Map<Tensor, LeafInfo> | null = null;
  private readonly call: number;

  constructor(
    readonly name: string,
    private readonly entry: Entry,
    private readonly roots: Roots,
    readonly fullgraph: boolean,
    readonly source: SourceInfo,
    readonly locate: boolean,
    /** For a re-running call: cacheSizeLimit, the graph variants its entry may compile. */
    private readonly limit: number | null,
    stats: CompileStats,
    readonly breakLog: BreakLog,
  ) {
    this.graphs = entry.graphs;
    this.escapes = source.mayEscape;
    this.call = stats.calls;
  }

  admit(plan: SegmentPlan, index: number, graph: TracedGraph): boolean {
    if (this.limit === null || this.entry.structures.has(plan.baseKey)) return true;
    // One recompile per call, however many of its graphs are new.
    this.change ??= {
      index,
      before: this.entry.lastGraphs[index],
      after: graph,
      admitted: this.entry.variants < this.limit,
      call: this.call,
    };
    return this.change.admitted;
  }

  integers(): readonly IntegerInput[] {
    const spec = this.entry.spec;
    return [
      ...spec.numberLeaves.map((n) => ({ name: n.path, value: n.get(this.roots) as number, dynamic: true })),
      ...spec.integerLeaves.map((n) => ({ name: n.path, value: n.get(this.roots) as number, dynamic: false })),
    ];
  }

  leafInfo(t: Tensor): LeafInfo | undefined {
    if (!this.byTensor) {
      this.byTensor = new Map();
      for (const leaf of this.entry.spec.tensorLeaves) {
        const v = leaf.get(this.roots);
        if (v instanceof Tensor && !this.byTensor.has(v)) this.byTensor.set(v, { name: leaf.path, dynamicDims: leaf.dynamicDims });
      }
    }
    return this.byTensor.get(t);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object without a forward method (${constructorName(v)})`;
  return typeof v;
}

function constructorName(o: object): string {
  const name = isProxy(o) ? undefined : readData(readData(Object.getPrototypeOf(o), 'constructor'), 'name');
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'module';
}

/**
 * Compiles `fn` (or a module's `forward`). The result has `fn`'s signature
 * (a sync function stays sync) plus `stats`, `explain()` and `reset()`.
 */
export function compile<F extends AnyFunction>(fn: F, options?: CompileOptions): Compiled<F>;
export function compile<M extends Module>(module: M, options?: CompileOptions): Compiled<M['forward']>;
export function compile(target: AnyFunction | Module, options: CompileOptions = {}): Compiled<AnyFunction> {
  return new CompiledFunction(target, options).wrapper();
}

/** `explain(fn, options)(...args)`: compiles `fn`, calls it once with `args`, and reports what was captured. */
export function explain<F extends AnyFunction>(fn: F, options?: CompileOptions): (...args: Parameters<F>) => Promise<ExplainReport>;
export function explain<M extends Module>(
  module: M,
  options?: CompileOptions,
): (...args: Parameters<M['forward']>) => Promise<ExplainReport>;
export function explain(target: AnyFunction | Module, options: CompileOptions = {}): (...args: unknown[]) => Promise<ExplainReport> {
  return async (...args: unknown[]) => {
    const c = new CompiledFunction(target, options, true);
    await c.call(undefined, args);
    // The report shows max-autotune's choices, not that they are being measured.
    await autotuned();
    return c.explain();
  };
}
