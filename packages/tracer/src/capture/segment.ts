/**
 * A segment: what must run to make some pending lazy tensors real. From the
 * tensors asked for, it walks back through pending ops to real tensors (the
 * graph's inputs), and writes the structure as a key: ops, attributes,
 * scalars, input dtypes and sizes (dynamic dims as `s`). Two calls that
 * record the same structure find the same compiled graph by this key, so
 * re-running the JavaScript compiles nothing new while the structure
 * repeats. The Graph itself is only built when the key is new.
 */
import type { Device, SymbolicFields } from '@kiln/eager';
import { metaStorage, Tensor, views } from '@kiln/eager';
import { TracedGraph } from '../backend';
import type { LazyArg } from './lazy';
import { LazyTensor, Pin } from './lazy';
import type { SizeObservation } from './symbolic-sizes';
import { Symbols, sizeFieldsOf, symbolize } from './symbolic-sizes';

/** What the recorder knows about a tensor the JavaScript received as an input. */
export interface LeafInfo {
  /** The input's path (`x`, `opts.w`): the placeholder's name. */
  readonly name: string;
  readonly dynamicDims: readonly number[];
  /** It stands for a dynamic JS number (an empty tensor whose size is the number). */
  readonly number?: boolean;
}

/** An integer JS number the function received. */
export interface IntegerInput {
  readonly name: string;
  readonly value: number;
  /** Its value changed between calls (automatic dynamic): a symbol. */
  readonly dynamic: boolean;
}

export interface SegmentPlan {
  /** Structure, with dynamic dims written symbolically. */
  readonly key: string;
  /** The structure without the extra outputs: what learns which intermediates later graphs needed. */
  readonly baseKey: string;
  /** The sizes of the dynamic dims ('' when none). */
  readonly sizes: string;
  /** Real tensors, in placeholder order. */
  readonly leaves: readonly Tensor[];
  /** What the JavaScript held for each leaf (the input it passed, or the lazy tensor that was computed). */
  readonly origins: readonly Tensor[];
  readonly leafInfo: readonly (LeafInfo | undefined)[];
  /** Pending tensors to compute, in graph order. */
  readonly nodes: readonly LazyTensor[];
  /** The graph's outputs. */
  readonly outputs: readonly LazyTensor[];
  /** By node: its attributes and scalars computed from the inputs' dynamic sizes. */
  readonly symbolic: readonly (SymbolicFields | undefined)[];
}

let stamp = 0;

/** A stable text for attributes and scalars (JSON would turn Infinity into null). */
export function stableKey(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? JSON.stringify(v) : String(v);
  let out: string;
  if (Array.isArray(v)) {
    out = '[';
    for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + stableKey(v[i]);
    return `${out}]`;
  }
  out = '{';
  const o = v as Record<string, unknown>;
  for (const k in o) out += `${out.length > 1 ? ',' : ''}${k}:${stableKey(o[k])}`;
  return `${out}}`;
}

/** What planning asks of the recorder. */
export interface PlanContext {
  /** Extra outputs for the nodes of a plan (every live intermediate, when the function may keep them). */
  extra(nodes: readonly LazyTensor[]): readonly LazyTensor[];
  /**
   * Node slots of the graph with this base key that a later graph of the
   * same call needed; undefined the first time the structure runs.
   */
  wanted(baseKey: string): ReadonlySet<number> | undefined;
  /** A node of the graph `baseKey` (at `slot`) is needed by a later graph (kept there, or computed again). */
  recomputed(baseKey: string, slot: number): void;
  /** What is known of a tensor the JavaScript passed in (its input path and dynamic dims). */
  leafInfo(origin: Tensor): LeafInfo | undefined;
  /** Whether the call made this tensor's memory (computed before a break), rather than received or closed over it. */
  madeDuringCall?(t: Tensor): boolean;
  /** Earlier sizes and size values of the structure `template` (sizes and size values left out), newest first. */
  observations?(template: string): readonly SizeObservation[];
  /**
   * The call's integer JS numbers, by input path; a dynamic one becomes a
   * graph input whose only content is its size (a symbol like a dynamic dim).
   */
  integers?(): readonly IntegerInput[];
  observe?(template: string, o: SizeObservation): void;
}

/**
 * Plans the graph that computes `targets` (pending, non-view lazy tensors
 * of one device) plus the extra outputs `ctx` asks for: intermediates a
 * later graph needed the last time this structure ran become outputs, so
 * that a loop with a break per iteration does not compute its whole history
 * again at each break.
 */
export function planSegment(targets: readonly LazyTensor[], ctx: PlanContext, final = false): SegmentPlan {
  return new Planner(ctx).plan(targets, final);
}

/** One planning pass (a class, so that the hot path makes no closures). */
class Planner {
  private readonly mark = ++stamp;
  private readonly leafIndex = new Map<Tensor, number>();
  private readonly leaves: Tensor[] = [];
  private readonly origins: Tensor[] = [];
  private readonly leafInfo: (LeafInfo | undefined)[] = [];
  /** By leaf: its memory was made during this call (not an input, a closed-over tensor or a size carrier). */
  private readonly computed: boolean[] = [];
  private leafKeys = '';
  private leafTemplate = '';
  private sizes = '';

  constructor(private readonly ctx: PlanContext) {}

  plan(targets: readonly LazyTensor[], final: boolean): SegmentPlan {
    const mark = this.mark;
    const nodes: LazyTensor[] = [];
    const stack = [...targets];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (t.mark === mark || t.real !== null) continue;
      t.mark = mark;
      nodes.push(t);
      if (t.ranIn !== null) this.ctx.recomputed(t.ranIn, t.ranSlot);
      for (const a of t.args!) if (a instanceof LazyTensor && a.real === null && a.mark !== mark) stack.push(a);
    }
    nodes.sort(bySeq);
    // Positions in the graph; `mark` still says which tensors are nodes of this plan.
    for (let i = 0; i < nodes.length; i++) nodes[i]!.slot = i;

    // Arguments first: they find the graph's inputs, whose dynamic dims are the symbols sizes are written in.
    const argRefs = nodes.map((t) => t.args!.map((a) => this.ref(a)));
    const realLeaves = this.leaves.length;
    const integers = this.ctx.integers?.() ?? [];
    for (const n of nodes.length > 0 ? integers : []) if (n.dynamic) this.sizeInput(n.name, n.value, nodes[0]!.device);
    const symbols = this.symbols(realLeaves);
    const template = `${this.leafTemplate}| ${nodes.map((t, n) => templateOf(t, argRefs[n]!)).join(' ')}`;
    const before = this.ctx.observations?.(template) ?? [];
    const values: number[] = [];
    const symbolic: (SymbolicFields | undefined)[] = new Array(nodes.length);
    let nodeKeys = '';
    for (let n = 0; n < nodes.length; n++) {
      const t = nodes[n]!;
      const refs = argRefs[n]!;
      const sizes =
        sizeFieldsOf(t.op) !== undefined || t.args!.some(isInteger) ? symbolize(t.op, t.attrs, t.args!, symbols, before, values) : null;
      symbolic[n] = sizes?.fields;
      let k = `${t.op}(`;
      for (let i = 0; i < refs.length; i++) k += (i > 0 ? ',' : '') + (sizes?.argKeys[i] ?? refs[i]);
      nodeKeys += `${k})${stableKey(sizes?.attrsKey ?? t.attrs)} `;
    }
    if (values.length > 0) {
      const numbers: Record<string, number> = {};
      for (const n of integers) numbers[n.name] = n.value;
      this.ctx.observe?.(template, { shapes: this.leaves.slice(0, realLeaves).map((l) => l.shape), numbers, values });
    }
    const outputs: LazyTensor[] = [];
    const seen = new Set<LazyTensor>();
    let outKey = '';
    for (const t of targets) {
      if (seen.has(t)) continue;
      seen.add(t);
      outputs.push(t);
      outKey += `${t.slot},`;
    }
    const baseKey = `${this.leafKeys}| ${nodeKeys}| ${outKey}`;
    const first = outputs.length;
    for (const t of this.ctx.extra(nodes)) {
      if (!seen.has(t)) {
        seen.add(t);
        outputs.push(t);
      }
    }
    const wanted = this.ctx.wanted(baseKey);
    if (wanted === undefined && !final) {
      // The first time this structure runs at a break, nothing says which values the code after it uses:
      // keep every one (eager keeps them all), so none is computed twice; later calls keep what was used.
      for (const t of nodes) {
        if (!t.isDisposed && t.viewOf === null && !seen.has(t)) {
          seen.add(t);
          outputs.push(t);
        }
      }
    } else if (wanted) {
      for (const slot of wanted) {
        // A view is kept as the tensor it views (a graph output has a layout of its own; the view is then made from it).
        let t = nodes[slot]!;
        while (t.viewOf instanceof LazyTensor && t.viewOf.mark === this.mark && t.viewOf.real === null) t = t.viewOf;
        if (t.viewOf === null && !t.isDisposed && !seen.has(t)) {
          seen.add(t);
          outputs.push(t);
        }
      }
    }
    let extraKey = '';
    for (let i = first; i < outputs.length; i++) extraKey += `${outputs[i]!.slot},`;
    const key = extraKey === '' ? baseKey : `${baseKey} + ${extraKey}`;
    return {
      key,
      baseKey,
      sizes: this.sizes,
      leaves: this.leaves,
      origins: this.origins,
      leafInfo: this.leafInfo,
      nodes,
      outputs,
      symbolic,
    };
  }

  /** The segment's symbols (its inputs' dynamic dims, duck-sized), and the inputs' part of the key written with them. */
  private symbols(realLeaves: number): Symbols {
    const numbers = new Map<number, string>();
    for (let i = realLeaves; i < this.leaves.length; i++) numbers.set(i, this.leafInfo[i]!.name);
    const symbols = new Symbols(
      this.leaves.map((l) => l.shape),
      numbers,
    );
    for (let i = 0; i < this.leaves.length; i++) for (const d of this.leafInfo[i]?.dynamicDims ?? []) symbols.add(i, d);
    for (let i = 0; i < this.leaves.length; i++) {
      const real = this.leaves[i]!;
      let info = this.leafInfo[i];
      if (info === undefined && symbols.count > 0 && this.computed[i]) {
        // A tensor computed before a break whose size is a symbol's: that size too, as the inductor's duck
        // sizing must see it (the key says so; a call where it differs has another key). Not a closed-over
        // tensor: a weight [16, 8] is static even in the call where T happens to be 16.
        const dims = real.shape.flatMap((n, d) => (symbols.has(n) ? [d] : []));
        if (dims.length > 0) this.leafInfo[i] = info = { name: `t${i}`, dynamicDims: dims };
      }
      let shape = '';
      for (let d = 0; d < real.shape.length; d++) {
        const n = real.shape[d]!;
        if (info?.dynamicDims.includes(d)) {
          shape += `s${symbols.add(i, d)},`;
          this.sizes += `${n},`;
        } else {
          shape += `${n},`;
          symbols.addStatic(n);
        }
      }
      this.leafKeys += `${real.dtype}@${real.device}[${shape}] `;
      if (i < realLeaves) this.leafTemplate += `${real.dtype}@${real.device}[${real.shape.length}] `;
    }
    return symbols;
  }

  /**
   * A dynamic JS number as a graph input: an empty tensor of shape [value],
   * its dim dynamic, so that every backend reads the number as it reads
   * any dynamic size (no backend reads its elements: it has none).
   */
  private sizeInput(name: string, value: number, device: Device): void {
    const carrier = new Tensor(metaStorage(device, 'int32', 0), views.contiguousView([value]));
    this.leaves.push(carrier);
    this.origins.push(carrier);
    this.leafInfo.push({ name, dynamicDims: [0], number: true });
    this.computed.push(false);
  }

  /** An argument in the key: `%slot` for a node, `$i` for an input, or the scalar. */
  private ref(a: LazyArg): string {
    if (typeof a !== 'object') return stableKey(a);
    if (a instanceof LazyTensor && a.mark === this.mark && a.real === null) return `%${a.slot}`;
    // A value an earlier graph of the call computed and kept: that graph's structure learns it is needed.
    if (a instanceof LazyTensor && a.ranIn !== null) this.ctx.recomputed(a.ranIn, a.ranSlot);
    const real = a instanceof LazyTensor ? a.real! : a;
    let i = this.leafIndex.get(real);
    if (i === undefined) {
      i = this.leaves.length;
      this.leafIndex.set(real, i);
      this.leaves.push(real);
      const origin = a instanceof Pin ? a.source : a;
      this.origins.push(origin);
      this.leafInfo.push(this.ctx.leafInfo(origin));
      this.computed.push(this.ctx.madeDuringCall?.(real) ?? false);
    }
    return `$${i}`;
  }
}

const bySeq = (a: LazyTensor, b: LazyTensor) => a.seq - b.seq;

const isInteger = (a: LazyArg): boolean => typeof a === 'number' && Number.isInteger(a);

/** A node's structure with its sizes left out (`#`): what matches it to the same code run at other sizes. */
function templateOf(t: LazyTensor, refs: readonly string[]): string {
  const fields = sizeFieldsOf(t.op);
  let attrs: unknown = t.attrs;
  if (fields) {
    const copy: Record<string, unknown> = { ...t.attrs };
    for (const f of fields) {
      const v = copy[f];
      copy[f] = Array.isArray(v) ? v.map(() => '#') : typeof v === 'number' ? '#' : v;
    }
    attrs = copy;
  }
  const args = t.args!.map((a, i) => (isInteger(a) ? '#' : refs[i]));
  return `${t.op}(${args.join(',')})${stableKey(attrs)}`;
}

/** The Graph of a plan (only built when its key is new). */
export function buildGraph(plan: SegmentPlan): TracedGraph {
  const g = new TracedGraph();
  const used = new Set<string>();
  const leafIndex = new Map<Tensor, number>();
  const placeholders = plan.leaves.map((leaf, i) => {
    leafIndex.set(leaf, i);
    const li = plan.leafInfo[i];
    let name = li ? li.name : `t${i}`;
    while (used.has(name)) name = `${name}_`;
    used.add(name);
    if (li && li.dynamicDims.length > 0) g.dynamicDims.set(i, li.dynamicDims);
    if (li?.number) g.numberInputs.add(i);
    return g.placeholder(name, leaf);
  });
  const nodeOf = new Map<LazyTensor, ReturnType<TracedGraph['call']>>();
  for (const t of plan.nodes) {
    const args = t.args!.map((a) => {
      if (typeof a !== 'object') return a;
      const n = a instanceof LazyTensor ? nodeOf.get(a) : undefined;
      if (n) return n;
      return placeholders[leafIndex.get(a instanceof LazyTensor ? a.real! : a)!]!;
    });
    nodeOf.set(t, g.call(t.op, args, t.attrs, t, plan.symbolic[t.slot]));
  }
  g.output(plan.outputs.map((o) => nodeOf.get(o)!));
  return g;
}
