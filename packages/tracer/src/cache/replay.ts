/**
 * Replay: a cache hit that does not run the function's JavaScript. After a
 * traced call, a plan is made only when skipping the JavaScript cannot be
 * noticed: no graph break happened, one graph computed everything, every
 * input of that graph is an input of the function (or a constant it made),
 * and the result is tensors, primitives, arrays and plain objects. (The
 * source-level conditions — no side effects, no free variables — are
 * checked before; see ../compile.) A plan runs the graph on the new call's
 * inputs and rebuilds the result: new arrays and objects, new output
 * tensors, views of inputs made again as views, primitives as traced.
 */

import type { AttrsOf, OpName } from '@kiln/eager';
import { dispatch, Tensor, withMode } from '@kiln/eager';
import type { CompiledSegment } from '../capture/graph-cache';
import { LazyTensor, Owned, Pin } from '../capture/lazy';
import type { TracedCall } from '../capture/recorder';
import type { Getter, InputSpec, Roots } from '../guards/guards';
import { HIDDEN, isProxy, readData, typeName } from '../guards/property-reads';
import { runTraining } from '../training/run-training';

type Template =
  | { readonly kind: 'value'; readonly value: unknown }
  /** `version`: the in-place writes the traced call made into it (an intermediate written in place), which eager's result counts. */
  | { readonly kind: 'output'; readonly index: number; readonly version: number }
  | { readonly kind: 'input'; readonly get: Getter }
  | { readonly kind: 'view'; readonly base: Template; readonly ops: readonly { op: OpName; attrs: AttrsOf[OpName] }[] }
  | { readonly kind: 'array'; readonly items: readonly Template[] }
  | { readonly kind: 'object'; readonly keys: readonly string[]; readonly items: readonly Template[] };

type Source = { readonly get: Getter } | { readonly constant: Tensor };

export class ReplayPlan {
  constructor(
    /** The compiled function's name (what a compiled backward's errors name). */
    private readonly name: string,
    readonly segment: CompiledSegment | null,
    private readonly sources: readonly Source[],
    private readonly template: Template,
    /** Graph outputs the result does not use (random draws kept for the stream's sake): freed after each call. */
    private readonly unused: readonly number[],
  ) {}

  run(r: Roots): unknown {
    let outs: Tensor[] = [];
    if (this.segment) {
      const inputs = this.sources.map((s) => ('get' in s ? (s.get(r) as Tensor) : s.constant));
      const { run, training } = this.segment;
      // A graph compiled for training: its results get the gradFn that runs its backward, from the inputs' edges.
      outs = withMode(null, () => (training ? runTraining(training, this.name, inputs, inputs) : run(inputs)));
    }
    const views = new Map<Template, Tensor>();
    const value = build(this.template, outs, r, views);
    for (const i of this.unused) outs[i]!.dispose();
    return value;
  }
}

function build(t: Template, outs: readonly Tensor[], r: Roots, views: Map<Template, Tensor>): unknown {
  switch (t.kind) {
    case 'value':
      return t.value;
    case 'output': {
      const out = outs[t.index]!;
      if (t.version > out.version) out.storage.version = t.version;
      return out;
    }
    case 'input':
      return t.get(r);
    case 'view': {
      let v = views.get(t);
      if (!v) {
        const base = build(t.base, outs, r, views) as Tensor;
        v = withMode(null, () => t.ops.reduce((x, s) => dispatch(s.op, [x], s.attrs), base));
        views.set(t, v);
      }
      return v;
    }
    case 'array':
      return t.items.map((i) => build(i, outs, r, views));
    case 'object': {
      const o: Record<string, unknown> = {};
      t.keys.forEach((k, i) => (o[k] = build(t.items[i]!, outs, r, views)));
      return o;
    }
  }
}

/** A plan for calls like `call` (which returned `result`), or why there is none. */
export function planReplay(call: TracedCall, spec: InputSpec, roots: Roots, result: unknown): ReplayPlan | string {
  if (call.breaks.length > 0) return `graph breaks: ${call.breaks.length}`;
  if (call.memoryWrites > 0) return `in-place writes into tensors the caller holds: ${call.memoryWrites} (applied by re-running)`;
  if (call.runs.length > 1) return `the call ran ${call.runs.length} graphs`;
  const run = call.runs[0];
  // Input tensors by identity, to find which input each graph input is.
  const inputs = new Map<Tensor, Getter>();
  for (const leaf of spec.tensorLeaves) inputs.set(leaf.get(roots) as Tensor, leaf.get);

  const sources: Source[] = [];
  if (run) {
    for (const [i, origin] of run.plan.origins.entries()) {
      const get = inputs.get(origin);
      if (get) sources.push({ get });
      else if (origin instanceof LazyTensor) return 'a graph input was computed earlier in the call';
      else {
        // A tensor the function made from literals: the plan keeps it.
        const leaf = run.plan.leaves[i]!;
        sources.push({ constant: new Owned(leaf.storage, leaf.layout) });
      }
    }
  }
  // Input arrays and objects by identity: returning one returns the caller's own object, as eager does.
  const containers = new Map<object, Getter>();
  for (const get of spec.containers) containers.set(get(roots) as object, get);
  const outputIndex = new Map<LazyTensor, number>();
  run?.plan.outputs.forEach((t, i) => outputIndex.set(t, i));
  const used = new Set<number>();
  const memo = new Map<Tensor, Template>();

  const tensorTemplate = (x: Tensor): Template | string => {
    const known = memo.get(x);
    if (known) return known;
    let t: Template | string;
    const index = x instanceof LazyTensor ? outputIndex.get(x) : undefined;
    if (index !== undefined) {
      used.add(index);
      t = { kind: 'output', index, version: x.version };
    } else if (x instanceof LazyTensor && x.viewOf !== null) {
      const ops: { op: OpName; attrs: AttrsOf[OpName] }[] = [];
      let base: Tensor = x;
      while (base instanceof LazyTensor && base.viewOf !== null && !outputIndex.has(base)) {
        ops.unshift({ op: base.op, attrs: base.attrs });
        base = base.viewOf;
      }
      const b = tensorTemplate(base instanceof Pin ? base.source : base);
      t = typeof b === 'string' ? b : { kind: 'view', base: b, ops };
    } else {
      const get = inputs.get(x);
      t = get ? { kind: 'input', get } : 'the result holds a tensor that is neither computed by the graph nor an input';
    }
    if (typeof t !== 'string') memo.set(x, t);
    return t;
  };

  const template = (v: unknown, seen: Set<object>): Template | string => {
    // Getters and Proxies are not run (see ../guards/property-reads): such a result is the function's to build on every call.
    if (v === HIDDEN) return 'the result holds a getter';
    if ((typeof v === 'object' || typeof v === 'function') && v !== null && isProxy(v)) return 'the result holds a Proxy';
    if (v instanceof Tensor) return tensorTemplate(v);
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return { kind: 'value', value: v };
    if (typeof v === 'function') return 'the result holds a function';
    const input = containers.get(v);
    if (input) return { kind: 'input', get: input };
    if (seen.has(v)) return 'the result is cyclic';
    seen.add(v);
    try {
      if (Array.isArray(v)) {
        const items: Template[] = [];
        for (let i = 0; i < v.length; i++) {
          const t = template(readData(v, i), seen);
          if (typeof t === 'string') return t;
          items.push(t);
        }
        return { kind: 'array', items };
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return `the result holds ${typeName(v)} that cannot be rebuilt`;
      const keys = Object.keys(v);
      const items: Template[] = [];
      for (const k of keys) {
        const t = template(readData(v, k), seen);
        if (typeof t === 'string') return t;
        items.push(t);
      }
      return { kind: 'object', keys, items };
    } finally {
      seen.delete(v);
    }
  };

  const t = template(result, new Set());
  if (typeof t === 'string') return t;
  const unused = (run?.plan.outputs ?? []).map((_, i) => i).filter((i) => !used.has(i));
  return new ReplayPlan(call.name, run?.segment ?? null, sources, t, unused);
}
