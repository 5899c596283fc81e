/**
 * A captured graph as plain data for reports: one entry per node with its
 * kind, what it does, which earlier nodes it reads, and its type. The HTML
 * report draws graphs from it (./report-html).
 */
import type { Graph } from '@kiln/eager';

export interface ExplainNode {
  /** Position in the graph (what `KernelInfo.graphNodes` refers to). */
  readonly id: number;
  readonly op: 'placeholder' | 'call' | 'output';
  /** The op name for a call, the input's name for a placeholder, `output` for the output. */
  readonly label: string;
  /** Ids of the nodes it reads, in order. */
  readonly inputs: readonly number[];
  /** `float32[4,8]` (empty for the output). */
  readonly type: string;
  /** Non-tensor arguments and attributes, as text (`dim=-1`, `0.5`). */
  readonly detail: string;
}

function text(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(text).join(', ')}]`;
  if (typeof v === 'object' && v !== null)
    return 'op' in v && 'name' in v ? `%${String((v as { name: unknown }).name)}` : JSON.stringify(v);
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));
}

function nodeIds(v: unknown, out: number[]): void {
  if (Array.isArray(v)) for (const x of v) nodeIds(x, out);
  else if (typeof v === 'object' && v !== null && 'op' in v && 'id' in v) out.push((v as { id: number }).id);
}

export function describeNodes(graph: Graph): ExplainNode[] {
  return graph.nodes.map((n) => {
    if (n.op === 'placeholder')
      return { id: n.id, op: n.op, label: n.name, inputs: [], type: `${n.dtype}[${n.shape.join(',')}]`, detail: '' };
    const inputs: number[] = [];
    nodeIds(n.args, inputs);
    if (n.op === 'output') return { id: n.id, op: n.op, label: 'output', inputs, type: '', detail: '' };
    const scalars = n.args.filter((a) => typeof a !== 'object' || a === null).map(text);
    const attrs = Object.entries(n.attrs as object).map(([k, v]) => `${k}=${text(v)}`);
    return {
      id: n.id,
      op: n.op,
      label: n.target,
      inputs,
      type: `${n.dtype}[${n.shape.join(',')}]`,
      detail: [...scalars, ...attrs].join(', '),
    };
  });
}
