/**
 * The op-level graph IR: what the tracer records (one call node per
 * dispatched op, composites included) and what the inductor consumes.
 * Nodes are in topological order; a call's args are earlier nodes or JS
 * scalars, in the op's input order, and its attrs are the op's attributes.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { Device } from './backend';
import type { Input } from './dispatch';
import { dispatch } from './dispatch';
import type { DType, Scalar } from './dtype';
import { tidy } from './memory';
import type { AttrsOf, OpName, TensorMeta } from './ops/table';
import { inferMeta } from './ops/table';
import type { InputDim, SymbolicFields, SymbolicSize } from './symbolic-size';
import { argsAt, attrsAt, sizeText } from './symbolic-size';
import type { Tensor } from './tensor';
import { shapeStr } from './view';

interface NodeBase {
  /** Position in `graph.nodes`. */
  readonly id: number;
  /** How the node prints: the input's name for placeholders, else its id. */
  readonly name: string;
}

/** An input of the graph. */
export interface PlaceholderNode extends NodeBase, TensorMeta {
  readonly op: 'placeholder';
}

/** One op applied to earlier nodes and scalars. */
export interface CallNode<N extends OpName = OpName> extends NodeBase, TensorMeta {
  readonly op: 'call';
  readonly target: N;
  readonly args: readonly Arg[];
  readonly attrs: AttrsOf[N];
  /** Attributes and scalars computed from the inputs' sizes (their values here are the traced call's). */
  readonly symbolic?: SymbolicFields;
}

/** The graph's results (always the last node). */
export interface OutputNode extends NodeBase {
  readonly op: 'output';
  readonly args: readonly ValueNode[];
}

export type ValueNode = PlaceholderNode | CallNode;
export type Node = ValueNode | OutputNode;
export type Arg = ValueNode | Scalar;

export function isNode(a: Arg): a is ValueNode {
  return typeof a === 'object';
}

function metaOf(m: TensorMeta): { shape: readonly number[]; dtype: DType; device: Device } {
  return { shape: [...m.shape], dtype: m.dtype, device: m.device };
}

/** `float32[8,16] @webgpu`; `dynamic` dims print as `*`. */
function typeStr(m: TensorMeta, dynamic: readonly number[] = []): string {
  const shape = dynamic.length === 0 ? shapeStr(m.shape) : `[${m.shape.map((s, d) => (dynamic.includes(d) ? '*' : s)).join(',')}]`;
  return `${m.dtype}${shape}${m.device === 'cpu' ? '' : ` @${m.device}`}`;
}

function valueStr(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'op' in v && 'name' in v) return `%${(v as Node).name}`;
  if (Array.isArray(v)) return `[${v.map(valueStr).join(', ')}]`;
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
}

/** A value that may be symbolic (a size, or a list with symbolic elements), as the listing prints it. */
function symbolicStr(v: unknown, sym: SymbolicSize | readonly (SymbolicSize | null)[] | undefined, name: (d: InputDim) => string): string {
  if (!sym) return valueStr(v);
  if (!Array.isArray(sym)) return sizeText(sym as SymbolicSize, name);
  return `[${(v as readonly unknown[]).map((e, i) => symbolicStr(e, (sym as readonly (SymbolicSize | null)[])[i] ?? undefined, name)).join(', ')}]`;
}

export class Graph {
  readonly nodes: Node[] = [];

  /** A new input with the given meta. */
  placeholder(name: string, meta: TensorMeta): PlaceholderNode {
    const node: PlaceholderNode = { id: this.nodes.length, name, op: 'placeholder', ...metaOf(meta) };
    this.nodes.push(node);
    return node;
  }

  /** A call of `target`; its meta is inferred (and the call checked) unless given. */
  call<N extends OpName>(target: N, args: readonly Arg[], attrs: AttrsOf[N], meta?: TensorMeta, symbolic?: SymbolicFields): CallNode<N> {
    const out = meta ?? inferMeta(target, args, attrs);
    const node: CallNode<N> = {
      id: this.nodes.length,
      name: String(this.nodes.length),
      op: 'call',
      target,
      args: [...args],
      attrs,
      ...metaOf(out),
      ...(symbolic ? { symbolic } : {}),
    };
    this.nodes.push(node);
    return node;
  }

  output(values: readonly ValueNode[]): OutputNode {
    const node: OutputNode = { id: this.nodes.length, name: 'output', op: 'output', args: [...values] };
    this.nodes.push(node);
    return node;
  }

  get placeholders(): PlaceholderNode[] {
    return this.nodes.filter((n): n is PlaceholderNode => n.op === 'placeholder');
  }

  get outputs(): readonly ValueNode[] {
    const last = this.nodes.at(-1);
    if (last?.op !== 'output') throw new KilnError('the graph has no output node', { op: 'graph' });
    return last.args;
  }

  /**
   * Readable listing, like torch.fx: `%3 = mul(%1, %2)  # float32[8,16]`;
   * symbolic sizes print as expressions of the input dims `name` gives
   * (by default `x.shape[1]`).
   */
  toString(name?: (d: InputDim) => string): string {
    const placeholders = this.placeholders;
    const dimName = name ?? ((d: InputDim) => `${placeholders[d.input]!.name}.shape[${d.dim}]`);
    const lines = this.nodes.map((n) => {
      if (n.op === 'placeholder') return `  %${n.name} = placeholder  # ${typeStr(n)}`;
      if (n.op === 'output') return `  return (${n.args.map(valueStr).join(', ')})`;
      const args = n.args.map((a, i) => symbolicStr(a, n.symbolic?.args?.[i], dimName));
      const attrs = Object.entries(n.attrs as object).map(([k, v]) => `${k}=${symbolicStr(v, n.symbolic?.attrs?.[k], dimName)}`);
      return `  %${n.name} = ${n.target}(${[...args, ...attrs].join(', ')})  # ${typeStr(n)}`;
    });
    const params = this.placeholders.map((p) => `${p.name}: ${typeStr(p)}`).join(', ');
    return `graph(${params}):\n${lines.join('\n')}`;
  }
}

/**
 * Dims of each graph input (by placeholder position) whose size may change
 * between calls: a graph traced at one size runs, or is compiled to run, at
 * any size of these dims.
 */
export type DynamicDims = readonly (readonly number[] | undefined)[];

export interface RunGraphOptions {
  /** Input dims whose size may differ from the placeholder's; every other size, and dtypes and devices, must match. */
  readonly dynamicDims?: DynamicDims;
}

/**
 * Runs a graph op by op through the dispatcher (the eager kernels, or the
 * installed mode): the `'eager'` compile backend, and what runs a graph no
 * compiler took. Inputs must match the placeholders (but for the sizes of
 * `dynamicDims`); intermediates are freed.
 */
export function runGraph(graph: Graph, inputs: readonly Tensor[], options: RunGraphOptions = {}): Tensor[] {
  const placeholders = graph.placeholders;
  if (inputs.length !== placeholders.length) {
    throw new KilnError(`expected ${placeholders.length} inputs, got ${inputs.length}`, { op: 'runGraph' });
  }
  const dynamic = options.dynamicDims ?? [];
  return tidy(() => {
    const values = new Map<Node, Tensor>();
    placeholders.forEach((p, i) => {
      const x = inputs[i]!;
      const dyn = dynamic[i] ?? [];
      const fits =
        x.dtype === p.dtype &&
        x.device === p.device &&
        x.ndim === p.shape.length &&
        p.shape.every((s, d) => s === x.shape[d] || dyn.includes(d));
      if (!fits) throw new KilnError(`input ${i} (%${p.name}) must be ${typeStr(p, dyn)}, got ${typeStr(x)}`, { op: 'runGraph' });
      values.set(p, x);
    });
    const value = (a: Arg | number): Input => (typeof a === 'object' ? values.get(a)! : a);
    const sizeOf = (input: number, dim: number) => inputs[input]!.shape[dim]!;
    for (const n of graph.nodes) {
      if (n.op !== 'call') continue;
      // Symbolic sizes take these inputs' sizes (the graph's concrete values are the traced call's).
      const args = argsAt(n.args, n.symbolic, sizeOf).map(value);
      values.set(n, dispatch(n.target, args, attrsAt(n.attrs, n.symbolic, sizeOf)));
    }
    return graph.outputs.map((n) => values.get(n)!);
  });
}
