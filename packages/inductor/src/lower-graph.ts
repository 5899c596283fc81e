/**
 * From the op-level graph to loop-IR nodes. Primitive calls go straight to
 * their lowering rule; composite calls run their decomposition (the same
 * function eager runs, written once in @kiln/eager) on symbolic tensors
 * under a mode that lowers each primitive it dispatches — so softmax
 * reaches the scheduler as max, sub, exp, sum, div.
 */

import {
  type AttrsOf,
  argsAt,
  attrsAt,
  type CallNode,
  type CompositeOp,
  DECOMPOSITIONS,
  type DynamicDims,
  type Graph,
  type Input,
  inferMeta,
  KilnError,
  type Mode,
  metaStorage,
  OPS,
  type OpName,
  type Scalar,
  type SymbolicSize,
  sizeKeyText,
  Tensor,
  type TensorMeta,
  views,
  withMode,
} from '@kiln/eager';
import { NotCompiled } from './errors';
import type { InputNode, IRNode } from './ir/nodes';
import { isStatic, MARKERS, markerOf } from './ir/size';
import { IdSource, type LowerInput, lower } from './lowering';

export interface LoweredGraph {
  inputs: InputNode[];
  /** Every node the outputs depend on, in topological (id) order. */
  nodes: IRNode[];
  outputs: IRNode[];
  /** Where symbol k's value is read at run time: every (input, dim) that has it (they must agree). */
  symbols: { input: number; dim: number }[][];
  /** IR node id -> ids of the graph nodes it computes (part of): what reports draw kernels over. */
  origins: Map<number, number[]>;
}

const isComposite = (op: OpName): op is CompositeOp => OPS[op].kind === 'composite';

/**
 * `dynamic`: dims of each graph input that may change between calls. Dims
 * with the same example size share one symbol ("duck sizing", as in
 * PyTorch), so that x [B, S] and mask [B, S] stay broadcast-compatible;
 * each symbol is traced at its size in `markers`.
 */
export function lowerGraph(graph: Graph, dynamic: DynamicDims = [], markers = MARKERS): LoweredGraph {
  const symbolOf = new Map<number, number>();
  const symbols: { input: number; dim: number }[][] = [];
  graph.placeholders.forEach((p, input) =>
    (dynamic[input] ?? []).forEach((dim) => {
      const example = p.shape[dim]!;
      let k = symbolOf.get(example);
      if (k === undefined) symbolOf.set(example, (k = symbols.push([]) - 1));
      symbols[k]!.push({ input, dim });
    }),
  );
  // Traced shapes: each symbol's example size replaced by its marker (./ir/size).
  const traced = (input: number, shape: readonly number[]) =>
    shape.map((s, d) => ((dynamic[input] ?? []).includes(d) ? markerOf(symbolOf.get(s)!, markers) : s));
  const ids = new IdSource(symbols.length, markers);
  const symbolic = new WeakMap<Tensor, IRNode>();
  const symbol = (n: IRNode, meta: TensorMeta): Tensor => {
    const t = new Tensor(metaStorage(meta.device, meta.dtype, 0), views.contiguousView(meta.shape));
    symbolic.set(t, n);
    return t;
  };
  const irOf = (x: Input): LowerInput => {
    if (!(x instanceof Tensor)) return x as Scalar;
    const n = symbolic.get(x);
    if (!n) throw new KilnError(`${x.describe()} is a concrete tensor inside a traced graph; pass it as an input`, { op: 'inductor' });
    return n;
  };
  const mode: Mode = {
    call<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor {
      if (isComposite(op)) {
        const decompose = DECOMPOSITIONS[op] as (ins: readonly Input[], a: AttrsOf[N]) => Tensor;
        const outer = ids.composite;
        ids.composite ??= op;
        try {
          return decompose(inputs, attrs);
        } finally {
          ids.composite = outer;
        }
      }
      if (op === 'copy_' || op === 'fill_' || op === 'to') {
        throw new NotCompiled(`'${op}' is not compiled (in-place and transfer ops stay eager)`);
      }
      if (op === 'slice') checkSliceBounds(inputs[0] as Tensor, attrs as AttrsOf['slice'], ids);
      const n = lower(op, inputs.map(irOf), attrs, meta, ids);
      return symbol(n, meta);
    },
  };

  const env = new Map<object, Tensor>();
  const origins = new Map<number, number[]>();
  const origin = (irId: number, graphId: number) => (origins.get(irId) ?? origins.set(irId, []).get(irId)!).push(graphId);
  const inputs: InputNode[] = graph.placeholders.map((p, position) => {
    const shape = traced(position, p.shape);
    const n: InputNode = {
      kind: 'input',
      id: ids.take(),
      ops: [p.name],
      shape: shape.map((s) => ids.size(s)),
      dtype: p.dtype,
      deps: [],
      position,
    };
    env.set(p, symbol(n, { ...p, shape }));
    origin(n.id, p.id);
    return n;
  });
  // Sizes the graph computed from its inputs' sizes are taken at the marker sizes too.
  const sizeOf = (input: number, dim: number) => traced(input, graph.placeholders[input]!.shape)[dim]!;
  withMode(mode, () => {
    for (const node of graph.nodes) {
      if (node.op !== 'call') continue;
      checkSymbolic(node);
      const args = argsAt(node.args, node.symbolic, sizeOf).map((a) => (typeof a === 'object' ? env.get(a)! : a));
      const attrs = attrsAt(node.attrs, node.symbolic, sizeOf);
      const first = ids.count;
      // Shapes are inferred again from the traced inputs, so sizes computed from dynamic dims carry their markers.
      const value = mode.call(node.target, args, attrs, symbolicMeta(node, args, attrs, symbols.length > 0));
      env.set(node, value);
      for (let id = first; id < ids.count; id++) origin(id, node.id);
      const result = symbolic.get(value)!;
      if (result.id < first) origin(result.id, node.id); // a no-op (a reshape to the same layout): it is its input
    }
  });
  const outputs = graph.outputs.map((o) => symbolic.get(env.get(o)!)!);
  return { inputs, nodes: reachable(outputs), outputs, symbols, origins };
}

/**
 * Attributes that may be sizes computed from the inputs' dynamic sizes:
 * those that only shape a result (inferred from the marker sizes, ./ir/size).
 * Any other symbolic attribute (a slice's start, a view's offset) would be
 * used as a number by its lowering: not compiled.
 */
const SYMBOLIC_ATTRS: Partial<Record<OpName, readonly string[]>> = {
  reshape: ['shape'],
  view: ['shape'],
  expand: ['shape'],
  full: ['shape'],
  rand: ['shape'],
  randn: ['shape'],
  arange: ['end'],
  layerNorm: ['normalizedShape'],
  rmsNorm: ['normalizedShape'],
};

/** Sizes are products of symbols times a number (./ir/size): `T - 1` or `T // 2` is not compiled, nor a size where a number is used. */
function checkSymbolic(node: CallNode): void {
  const fields = node.symbolic;
  if (!fields) return;
  const attrs = Object.keys(fields.attrs ?? {});
  const unsupported = attrs.find((k) => !SYMBOLIC_ATTRS[node.target]?.includes(k));
  if (unsupported) throw new NotCompiled(`${node.target}: its ${unsupported} computed from the inputs' dynamic sizes is not compiled`);
  const all = [...Object.values(fields.attrs ?? {}).flatMap((a) => (Array.isArray(a) ? a : [a])), ...(fields.args ?? [])];
  const affine = all.find((e): e is SymbolicSize => e !== null && e !== undefined && (e.offset !== 0 || e.div !== 1));
  if (affine)
    throw new NotCompiled(`${node.target}: a size computed as ${sizeKeyText(affine)} from the inputs' dynamic sizes is not compiled`);
}

/**
 * A slice along a dynamic dim keeps a size the IR can track only when it
 * starts at a fixed position and runs to the end: a negative start counts
 * from the end (T - 3) and an end inside the dim is clamped to it
 * (min(3, T)), sizes that hold at one size and not the next. Not compiled.
 */
function checkSliceBounds(x: Tensor, a: AttrsOf['slice'], ids: IdSource): void {
  const dim = a.dim < 0 ? a.dim + x.ndim : a.dim;
  const size = x.shape[dim]!;
  if (isStatic(ids.size(size))) return;
  if (a.start < 0 || a.end < size) {
    throw new NotCompiled(`slice: bounds ${a.start}..${a.end} along a dynamic dim are taken from its size (from the end, or clamped)`);
  }
}

/**
 * The node's meta at the marker sizes. The graph ran at its own sizes, so an
 * error here means its sizes do not hold as symbols (a constant taken for a
 * size, a static size that equalled a symbol's): not compiled.
 */
function symbolicMeta(node: CallNode, args: readonly Input[], attrs: AttrsOf[OpName], dynamic: boolean): TensorMeta {
  try {
    return inferMeta(node.target, args, attrs);
  } catch (e) {
    if (!dynamic || !(e instanceof KilnError)) throw e;
    throw new NotCompiled(`${node.target}: its sizes computed from the inputs' dynamic sizes do not hold at other sizes (${e.message})`);
  }
}

function reachable(outputs: readonly IRNode[]): IRNode[] {
  const seen = new Set<IRNode>();
  const visit = (n: IRNode) => {
    if (seen.has(n)) return;
    seen.add(n);
    n.deps.forEach(visit);
  };
  outputs.forEach(visit);
  return [...seen].sort((a, b) => a.id - b.id);
}
