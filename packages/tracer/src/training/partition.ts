/**
 * The partitioner: cuts a joint forward + backward graph (./joint) into the
 * forward graph that runs now and the backward graph that runs at
 * `backward()`, and chooses what the forward saves for the backward. This
 * is AOTAutograd's min-cut rematerialization:
 *
 * - every value the backward needs comes either from the forward (saved:
 *   it costs its bytes, kept alive from forward to backward, written once
 *   and read once more) or is computed again in the backward from other
 *   saved values;
 * - cheap values (elementwise, views, copies, constants) may be computed
 *   again; expensive forward values (matmul, reductions and the composites
 *   made of them, gathers, random draws) may not: a random draw must not be
 *   drawn twice, and redoing a matmul costs more than the bytes it saves;
 * - the set saved is a minimum cut of a flow network where each value is an
 *   edge `in -> out` of capacity its bytes, the primals and the banned
 *   values hang from the source, and what the backward reads (values used by
 *   nodes that depend on a gradient) from the sink. The cut minimizes the
 *   bytes saved; among minimum cuts it takes the one closest to the source
 *   (recomputing as much as saves nothing).
 *
 * For an MLP, `gelu(x W1ᵀ)` is not saved: the matmul's output is (gelu's
 * backward needs it anyway) and gelu runs again, fused into the backward
 * kernel that needs it.
 */
import type { CompositeOp, DType, Graph, OpKind, TensorMeta, ValueNode } from '@kiln/eager';
import { KilnError, OPS } from '@kiln/eager';
import { TracedGraph } from '../backend';
import { stableKey } from '../capture/segment';
import type { JointGraph } from './joint';
import { FlowNetwork } from './min-cut';

/** Where a saved value comes from when the forward runs: one of its inputs, or one of its outputs. */
export type SavedSource = { readonly input: number } | { readonly output: number };

/** A saved value as another joint graph of the same forward finds it. */
export interface SavedValue {
  readonly key: string;
  readonly meta: TensorMeta;
}

/** What the partitioner decided, for reports. */
export interface PartitionReport {
  /** Values saved, with the op that made them (`input` for a forward input) and their bytes. */
  readonly saved: readonly { readonly op: string; readonly type: string; readonly bytes: number }[];
  readonly savedBytes: number;
  /** Forward values the backward computes again instead of saving them (their ops), and their bytes. */
  readonly recomputed: readonly string[];
  readonly recomputedBytes: number;
}

export interface Partition {
  /** Inputs: the primals. Outputs: the forward's outputs, then the saved values that are neither inputs nor outputs. */
  readonly forward: TracedGraph;
  /** Inputs: the saved values, then the tangents. Outputs: the gradients (of `joint.gradInputs`). */
  readonly backward: TracedGraph;
  /** Per saved value (the backward's first inputs), where the forward's call finds it. */
  readonly saved: readonly SavedSource[];
  /** The saved values by what computes them (see `valueKeys`), with their types: how another joint graph of the same forward finds them. */
  readonly savedValues: readonly SavedValue[];
  readonly report: PartitionReport;
}

/** By kind of op: may a forward value of this kind be computed again in the backward? */
const CHEAP_KINDS: Record<OpKind, boolean> = {
  elementwise: true,
  movement: true,
  full: true,
  arange: true,
  cat: true,
  scatter: true,
  reduce: false,
  matmul: false,
  gather: false,
  random: false,
  composite: false, // decided per op below
  inplace: false,
  transfer: false,
};

/** Composites that are elementwise or copies in disguise (cheap); the others reduce, multiply matrices or draw random numbers. */
const CHEAP_COMPOSITES: Record<CompositeOp, boolean> = {
  mean: false,
  var: false,
  std: false,
  logsumexp: false,
  clamp: true,
  gelu: true,
  silu: true,
  softmax: false,
  logSoftmax: false,
  layerNorm: false,
  rmsNorm: false,
  linear: false,
  embedding: false,
  dropout: false,
  scaledDotProductAttention: false,
  crossEntropy: false,
  stack: true,
  indexSelect: false,
  clone: true,
  tril: true,
  triu: true,
  maskedFill: true,
};

function isCheap(n: ValueNode): boolean {
  if (n.op !== 'call') return false;
  const kind = OPS[n.target].kind;
  return kind === 'composite' ? CHEAP_COMPOSITES[n.target as CompositeOp] : CHEAP_KINDS[kind];
}

const isRandom = (n: ValueNode) => n.op === 'call' && (OPS[n.target].kind === 'random' || n.target === 'dropout');

const ELEMENT_BYTES: Record<DType, number> = { float32: 4, int32: 4, bool: 1 };

export function bytesOf(m: TensorMeta): number {
  return m.shape.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[m.dtype];
}

const typeOf = (m: TensorMeta) => `${m.dtype}[${m.shape.join(',')}]`;

export function partition(joint: JointGraph): Partition {
  const g = joint.graph;
  const values = g.nodes.filter((n): n is ValueNode => n.op !== 'output');
  const placeholders = g.placeholders;
  const primals = new Set<ValueNode>(placeholders.slice(0, joint.primals));
  const outputs = g.outputs;
  const forwardOutputs = outputs.slice(0, joint.forwardOutputs);
  const gradOutputs = outputs.slice(joint.forwardOutputs);

  // What depends on a gradient is the backward's, whatever the cut.
  const backwardSide = new Set<ValueNode>(placeholders.slice(joint.primals));
  const users = new Map<ValueNode, ValueNode[]>();
  for (const n of values) {
    if (n.op !== 'call') continue;
    for (const a of n.args) {
      if (typeof a !== 'object') continue;
      if (backwardSide.has(a)) backwardSide.add(n);
      const list = users.get(a);
      if (list) list.push(n);
      else users.set(a, [n]);
    }
  }
  const forwardRequired = ancestors(forwardOutputs, () => false);

  const net = new FlowNetwork();
  const source = net.vertex();
  const sink = net.vertex();
  const ins = new Map<ValueNode, number>();
  const outs = new Map<ValueNode, number>();
  for (const n of values) {
    if (backwardSide.has(n)) continue;
    ins.set(n, net.vertex());
    outs.set(n, net.vertex());
  }
  const gradSet = new Set(gradOutputs);
  for (const n of values) {
    if (backwardSide.has(n)) continue;
    const [vin, vout] = [ins.get(n)!, outs.get(n)!];
    net.arc(vin, vout, bytesOf(n));
    if (primals.has(n) || isRandom(n) || (forwardRequired.has(n) && !isCheap(n))) net.arc(source, vin, Number.POSITIVE_INFINITY);
    for (const u of users.get(n) ?? []) net.arc(vout, backwardSide.has(u) ? sink : ins.get(u)!, Number.POSITIVE_INFINITY);
    if (gradSet.has(n)) net.arc(vout, sink, Number.POSITIVE_INFINITY);
  }
  const { sourceSide } = net.minCut(source, sink);
  const savedNodes = values.filter((n) => ins.has(n) && sourceSide.has(ins.get(n)!) && !sourceSide.has(outs.get(n)!));
  const savedSet = new Set(savedNodes);

  const forward = extract(
    g,
    [...placeholders.slice(0, joint.primals)],
    [...forwardOutputs, ...savedNodes.filter((n) => !primals.has(n) && !forwardOutputs.includes(n))],
  );
  const saved: SavedSource[] = [];
  let extra = forwardOutputs.length;
  for (const n of savedNodes) {
    if (primals.has(n)) saved.push({ input: placeholders.indexOf(n as (typeof placeholders)[number]) });
    else {
      const k = forwardOutputs.indexOf(n);
      saved.push({ output: k >= 0 ? k : extra++ });
    }
  }
  const keys = valueKeys(g, joint.primals);
  const savedValues = savedNodes.map((n) => ({ key: keys.get(n)!, meta: n }));
  const backward = backwardGraph(joint, savedValues);

  const inBackward = ancestors(gradOutputs, (n) => savedSet.has(n));
  const recomputedNodes = [...inBackward].filter(
    (n) => n.op === 'call' && forwardRequired.has(n) && !savedSet.has(n) && !backwardSide.has(n),
  );
  return {
    forward,
    backward,
    saved,
    savedValues,
    report: {
      saved: savedNodes.map((n) => ({ op: n.op === 'call' ? n.target : 'input', type: typeOf(n), bytes: bytesOf(n) })),
      savedBytes: savedNodes.reduce((s, n) => s + bytesOf(n), 0),
      recomputed: recomputedNodes.map((n) => (n.op === 'call' ? n.target : n.name)),
      recomputedBytes: recomputedNodes.reduce((s, n) => s + bytesOf(n), 0),
    },
  };
}

/**
 * Each value of `g` that depends on no tangent, by what computes it (its
 * op, attributes and arguments' keys; a primal by its position) and which
 * occurrence of that computation it is: equal keys are the same value, in
 * any joint graph of one forward. The occurrence tells apart two random
 * draws of one shape, which compute different values.
 */
function valueKeys(g: Graph, primals: number): Map<ValueNode, string> {
  const keys = new Map<ValueNode, string>();
  const seen = new Map<string, number>();
  g.placeholders.slice(0, primals).forEach((p, i) => keys.set(p, `$${i}`));
  for (const n of g.nodes) {
    if (n.op !== 'call') continue;
    const args = n.args.map((a) => (typeof a === 'object' ? keys.get(a) : stableKey(a)));
    if (args.some((a) => a === undefined)) continue;
    const key = `${n.target}(${args.join(',')})${stableKey(n.attrs)}`;
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    keys.set(n, `${key}#${occurrence}`);
  }
  return keys;
}

/**
 * The backward graph of `joint` reading the saved values `savedKeys`: what
 * the partition gives, and also, for a joint graph of the same forward
 * seeded with fewer tangents (results some of whose gradients never
 * arrive), the backward of those results from the same saved values (one
 * it does not read becomes an input it ignores).
 */
export function backwardGraph(joint: JointGraph, saved: readonly SavedValue[]): TracedGraph {
  const g = joint.graph;
  // Read before placeholders for unused values are added (after the output node).
  const tangents = g.placeholders.slice(joint.primals);
  const gradOutputs = g.outputs.slice(joint.forwardOutputs);
  const byKey = new Map<string, ValueNode>();
  for (const [n, k] of valueKeys(g, joint.primals)) byKey.set(k, n);
  const inputs = saved.map((v, i) => byKey.get(v.key) ?? g.placeholder(`unused_${i}`, v.meta));
  return extract(g, [...inputs, ...tangents], gradOutputs);
}

/** `roots` and what they are computed from, stopping below nodes `stop` accepts (those are kept, their inputs not walked). */
function ancestors(roots: readonly ValueNode[], stop: (n: ValueNode) => boolean): Set<ValueNode> {
  const seen = new Set<ValueNode>();
  const stack = [...roots];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.op !== 'call' || stop(n)) continue;
    for (const a of n.args) if (typeof a === 'object' && !seen.has(a)) stack.push(a);
  }
  return seen;
}

/**
 * The subgraph of `g` computing `results` from `inputs` (which become its
 * placeholders, in order, keeping their names where they were placeholders).
 */
function extract(g: Graph, inputs: readonly ValueNode[], results: readonly ValueNode[]): TracedGraph {
  const out = new TracedGraph();
  const map = new Map<ValueNode, ValueNode>();
  const used = new Set<string>();
  for (const n of inputs) {
    let name = n.op === 'placeholder' ? n.name : `${n.target}_${n.name}`;
    while (used.has(name)) name = `${name}_`;
    used.add(name);
    map.set(n, out.placeholder(name, n));
  }
  const inputSet = new Set(inputs);
  const needed = ancestors(results, (n) => inputSet.has(n));
  for (const n of g.nodes) {
    if (n.op !== 'call' || map.has(n) || !needed.has(n)) continue;
    const args = n.args.map((a) => {
      if (typeof a !== 'object') return a;
      const m = map.get(a);
      if (!m) throw new KilnError(`internal: the partition left %${a.name} out of a graph that reads it`, { op: 'compile' });
      return m;
    });
    map.set(n, out.call(n.target, args, n.attrs, n));
  }
  out.output(results.map((r) => map.get(r)!));
  return out;
}
