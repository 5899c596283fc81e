/**
 * A graph with dynamic dims, as reports show it: the types of its inputs
 * and of every node written from the size symbols (`float32[s0,16]`,
 * `float32[4*s0]`, `float32[s0*s1]`) that its listing already uses for
 * sizes computed from them (`reshape(%1, shape=[s0*s1, 16])`, see
 * TracedGraph.toString), instead of the sizes it happened to be traced at.
 * Found as the inductor finds them: the shapes are inferred again from
 * inputs whose dynamic sizes are large primes (its markers), with the
 * symbolic attributes evaluated at those sizes, so a size computed from
 * one is a product the prime factors out of.
 */
import type { Arg, ValueNode } from '@kiln/eager';
import { argsAt, attrsAt, Graph, isNode } from '@kiln/eager';
import { markerOf } from '@kiln/inductor';
import { TracedGraph } from '../backend';
import type { ExplainNode } from './graph-nodes';
import { describeNodes } from './graph-nodes';

/** How reports show a graph: its listing and its nodes, dynamic sizes as symbols where it has some. */
export function showGraph(graph: Graph): { listing: string; nodes: ExplainNode[] } {
  const listing = graph.toString();
  const symbolic = graph instanceof TracedGraph && graph.dynamicDims.size > 0 ? withMarkers(graph) : null;
  if (!symbolic) return { listing, nodes: describeNodes(graph) };
  const { marked, markers } = symbolic;
  const write = (text: string) => text.replace(/\b\d{5,}\b/g, (n) => sizeText(Number(n), markers));
  // The listing as the graph prints it (its symbolic attributes, what each symbol stands for), with the marked graph's types.
  const lines = listing.split('\n');
  const types = marked.toString().split('\n');
  const typeAt = (line: string) => line.indexOf('  # ');
  lines[0] = write(types[0]!);
  for (let i = 1; i < types.length && i < lines.length; i++) {
    const at = typeAt(lines[i]!);
    const from = typeAt(types[i]!);
    if (at >= 0 && from >= 0) lines[i] = lines[i]!.slice(0, at) + write(types[i]!.slice(from));
  }
  const nodes = describeNodes(graph);
  return { listing: lines.join('\n'), nodes: describeNodes(marked).map((n, i) => ({ ...nodes[i]!, type: write(n.type) })) };
}

/**
 * The graph again with each dynamic size replaced by its marker (symbols
 * numbered as TracedGraph.toString numbers them: one per distinct size, in
 * the order of the dynamic dims), or null when its shapes do not follow.
 */
function withMarkers(graph: TracedGraph): { marked: Graph; markers: number[] } | null {
  const placeholders = graph.placeholders;
  const markers: number[] = [];
  const bySize = new Map<number, number>();
  const shapes = placeholders.map((p) => [...p.shape]);
  try {
    for (const [i, dims] of graph.dynamicDims) {
      for (const d of dims) {
        const size = placeholders[i]!.shape[d]!;
        let k = bySize.get(size);
        if (k === undefined) {
          k = markers.push(markerOf(markers.length)) - 1; // throws past the markers there are
          bySize.set(size, k);
        }
        shapes[i]![d] = markers[k]!;
      }
    }
    const sizeOf = (input: number, dim: number) => shapes[input]![dim]!;
    const marked = new Graph();
    const map = new Map<ValueNode, ValueNode>();
    const arg = (a: Arg): Arg => (isNode(a) ? map.get(a)! : a);
    let input = 0;
    for (const n of graph.nodes) {
      if (n.op === 'placeholder') map.set(n, marked.placeholder(n.name, { shape: shapes[input++]!, dtype: n.dtype, device: n.device }));
      else if (n.op === 'call') {
        const args = argsAt(n.args, n.symbolic, sizeOf).map((a) => arg(a as Arg));
        map.set(n, marked.call(n.target, args, attrsAt(n.attrs, n.symbolic, sizeOf)));
      } else marked.output(n.args.map((a) => map.get(a)!));
    }
    return { marked, markers };
  } catch {
    return null;
  }
}

/** A size computed from marker sizes, written from the symbols (`s0`, `4*s0`, `s0*s1`); a plain number stays one. */
function sizeText(n: number, markers: readonly number[]): string {
  const factors: string[] = [];
  let rest = n;
  markers.forEach((m, k) => {
    while (rest % m === 0 && rest > 0) {
      factors.push(`s${k}`);
      rest /= m;
    }
  });
  if (factors.length === 0) return String(n);
  return rest === 1 ? factors.join('*') : `${rest}*${factors.join('*')}`;
}
