/**
 * A layered drawing of a graph, top to bottom (what the HTML report
 * renders as SVG), after Sugiyama: each op one layer below the latest op it
 * reads, each input just above its first reader (weights sit next to the
 * matmul that uses them, not in one long first row), the output last. An
 * edge that spans several layers gets a waypoint in each layer it crosses,
 * which takes a narrow slot there like a node, so long edges (residual
 * connections) run between nodes instead of through them. Within a layer,
 * a few barycenter sweeps order nodes and waypoints near what they connect
 * to. Small, dependency-free, good for graphs of a few hundred nodes.
 */
import type { ExplainNode } from './graph-nodes';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Edge {
  readonly from: number;
  readonly to: number;
  /** From the bottom of `from` to the top of `to`, through the middle of each layer's waypoint. */
  readonly points: readonly Point[];
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  /** By node id. */
  readonly boxes: ReadonlyMap<number, Box>;
  readonly edges: readonly Edge[];
}

export const NODE_WIDTH = 136;
export const NODE_HEIGHT = 40;
const WAYPOINT_WIDTH = 10;
const GAP_X = 20;
const GAP_Y = 44;
const MARGIN = 16;

/** A slot in a layer: a node, or a waypoint of an edge (negative ids). */
interface Slot {
  readonly id: number;
  readonly width: number;
  readonly up: number[];
  readonly down: number[];
}

export function layoutGraph(nodes: readonly ExplainNode[]): Layout {
  const users = new Map<number, number[]>();
  for (const n of nodes) for (const i of n.inputs) (users.get(i) ?? users.set(i, []).get(i)!).push(n.id);

  // Layers: longest path from the inputs; inputs then move down next to their first reader.
  const layer = new Map<number, number>();
  for (const n of nodes) {
    const below = n.inputs.map((i) => layer.get(i) ?? 0);
    layer.set(n.id, n.op === 'placeholder' ? 0 : below.length > 0 ? Math.max(...below) + 1 : 0);
  }
  const last = Math.max(0, ...layer.values());
  for (const n of nodes) {
    if (n.op === 'output') layer.set(n.id, last);
    if (n.op !== 'placeholder') continue;
    const readers = (users.get(n.id) ?? []).map((u) => layer.get(u)!);
    if (readers.length > 0) layer.set(n.id, Math.max(0, Math.min(...readers) - 1));
  }

  // Slots: the nodes, and a waypoint per crossed layer for each long edge.
  const slots = new Map<number, Slot>();
  for (const n of nodes) slots.set(n.id, { id: n.id, width: NODE_WIDTH, up: [], down: [] });
  const slotLayer = new Map(layer);
  const chains: { from: number; to: number; via: number[] }[] = [];
  let nextWaypoint = -1;
  for (const n of nodes) {
    for (const i of new Set(n.inputs)) {
      if (!slots.has(i)) continue;
      const via: number[] = [];
      let prev = i;
      for (let l = layer.get(i)! + 1; l < layer.get(n.id)!; l++) {
        const w = nextWaypoint--;
        slots.set(w, { id: w, width: WAYPOINT_WIDTH, up: [prev], down: [] });
        slots.get(prev)!.down.push(w);
        slotLayer.set(w, l);
        via.push(w);
        prev = w;
      }
      slots.get(prev)!.down.push(n.id);
      slots.get(n.id)!.up.push(prev);
      chains.push({ from: i, to: n.id, via });
    }
  }
  const layers: number[][] = Array.from({ length: last + 1 }, () => []);
  for (const [id, l] of slotLayer) layers[l]!.push(id);
  for (const row of layers) row.sort((a, b) => (a < 0 === b < 0 ? Math.abs(a) - Math.abs(b) : a < 0 ? 1 : -1));
  const rows = layers.filter((r) => r.length > 0);

  // Order within layers: sweeps down (by what a slot reads) and up (by what reads it).
  const pos = new Map<number, number>();
  const place = (row: readonly number[]) => {
    let x = 0;
    for (const id of row) {
      const w = slots.get(id)!.width;
      pos.set(id, x + w / 2);
      x += w + GAP_X;
    }
    const shift = (x - GAP_X) / 2;
    for (const id of row) pos.set(id, pos.get(id)! - shift);
  };
  rows.forEach(place);
  const mean = (ids: readonly number[], fallback: number) =>
    ids.length === 0 ? fallback : ids.reduce((s, i) => s + pos.get(i)!, 0) / ids.length;
  for (let sweep = 0; sweep < 6; sweep++) {
    const down = sweep % 2 === 0;
    for (const row of down ? rows : [...rows].reverse()) {
      const key = new Map(
        row.map((id) => {
          const s = slots.get(id)!;
          return [id, mean(down ? s.up : s.down, pos.get(id)!)];
        }),
      );
      row.sort((a, b) => key.get(a)! - key.get(b)! || pos.get(a)! - pos.get(b)!);
      place(row);
    }
  }

  const rowWidth = (row: readonly number[]) => row.reduce((w, id) => w + slots.get(id)!.width, 0) + (row.length - 1) * GAP_X;
  const width = MARGIN * 2 + Math.max(NODE_WIDTH, ...rows.map(rowWidth));
  const centerX = new Map<number, number>();
  const top = new Map<number, number>();
  rows.forEach((row, r) => {
    for (const id of row) {
      centerX.set(id, width / 2 + pos.get(id)!);
      top.set(id, MARGIN + r * (NODE_HEIGHT + GAP_Y));
    }
  });
  const boxes = new Map<number, Box>();
  for (const n of nodes)
    boxes.set(n.id, { x: centerX.get(n.id)! - NODE_WIDTH / 2, y: top.get(n.id)!, width: NODE_WIDTH, height: NODE_HEIGHT });
  const height = MARGIN * 2 + rows.length * NODE_HEIGHT + (rows.length - 1) * GAP_Y;
  const edges = chains.map(({ from, to, via }) => ({
    from,
    to,
    points: [
      { x: centerX.get(from)!, y: top.get(from)! + NODE_HEIGHT },
      ...via.flatMap((w) => [
        { x: centerX.get(w)!, y: top.get(w)! },
        { x: centerX.get(w)!, y: top.get(w)! + NODE_HEIGHT },
      ]),
      { x: centerX.get(to)!, y: top.get(to)! },
    ],
  }));
  return { width, height, boxes, edges };
}
