/**
 * A layered drawing of a graph, top to bottom (what the HTML report
 * renders as SVG): each op one layer below the latest op it reads, each
 * input just above its first reader (weights sit next to the matmul that
 * uses them, not in one long first row), the output last; within a layer,
 * a few barycenter sweeps order nodes near what they connect to, which
 * keeps edges short and crossings few. Small, dependency-free, good enough
 * for graphs of a few hundred nodes.
 */
import type { ExplainNode } from './graph-nodes';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  /** By node id. */
  readonly boxes: ReadonlyMap<number, Box>;
  /** One per input of each node: from the input's box to the reader's. */
  readonly edges: readonly { readonly from: number; readonly to: number }[];
}

export const NODE_WIDTH = 136;
export const NODE_HEIGHT = 40;
const GAP_X = 22;
const GAP_Y = 44;
const MARGIN = 16;

export function layoutGraph(nodes: readonly ExplainNode[]): Layout {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const users = new Map<number, number[]>();
  for (const n of nodes) for (const i of n.inputs) (users.get(i) ?? users.set(i, []).get(i)!).push(n.id);

  // Layers: longest path from the inputs; inputs then move down next to their first reader.
  const layer = new Map<number, number>();
  for (const n of nodes) {
    const below = n.inputs.map((i) => layer.get(i) ?? 0);
    layer.set(n.id, n.op === 'placeholder' ? 0 : below.length > 0 ? Math.max(...below) + 1 : 0);
  }
  const last = Math.max(0, ...[...layer.values()]);
  for (const n of nodes) {
    if (n.op === 'output') layer.set(n.id, last);
    if (n.op !== 'placeholder') continue;
    const readers = (users.get(n.id) ?? []).map((u) => layer.get(u)!);
    if (readers.length > 0) layer.set(n.id, Math.max(0, Math.min(...readers) - 1));
  }
  const layers: number[][] = Array.from({ length: last + 1 }, () => []);
  for (const n of nodes) layers[layer.get(n.id)!]!.push(n.id);
  const rows = layers.filter((r) => r.length > 0);

  // Order within layers: sweeps down (by inputs) and up (by readers).
  const pos = new Map<number, number>();
  const place = () => rows.forEach((row) => row.forEach((id, i) => pos.set(id, i - row.length / 2)));
  place();
  const mean = (ids: readonly number[], fallback: number) => {
    const known = ids.filter((i) => pos.has(i));
    return known.length === 0 ? fallback : known.reduce((s, i) => s + pos.get(i)!, 0) / known.length;
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? rows : [...rows].reverse();
    for (const row of order) {
      const key = new Map(row.map((id) => [id, mean(down ? byId.get(id)!.inputs : users.get(id) ?? [], pos.get(id)!)]));
      row.sort((a, b) => key.get(a)! - key.get(b)! || a - b);
      row.forEach((id, i) => pos.set(id, i - row.length / 2));
    }
  }

  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = MARGIN * 2 + widest * NODE_WIDTH + (widest - 1) * GAP_X;
  const boxes = new Map<number, Box>();
  rows.forEach((row, l) => {
    const rowWidth = row.length * NODE_WIDTH + (row.length - 1) * GAP_X;
    const left = (width - rowWidth) / 2;
    row.forEach((id, i) => boxes.set(id, { x: left + i * (NODE_WIDTH + GAP_X), y: MARGIN + l * (NODE_HEIGHT + GAP_Y), width: NODE_WIDTH, height: NODE_HEIGHT }));
  });
  const height = MARGIN * 2 + rows.length * NODE_HEIGHT + (rows.length - 1) * GAP_Y;
  const edges = nodes.flatMap((n) => n.inputs.filter((i) => boxes.has(i)).map((i) => ({ from: i, to: n.id })));
  return { width, height, boxes, edges };
}
