/**
 * A graph with dynamic dims, as reports show it: each dynamic size a
 * symbol (`s0`, `s1`; dims with the same example size share one, as the
 * inductor's duck sizing does), and every size computed from them written
 * from the symbols (`s0`, `4*s0`, `s0*s1`), instead of the sizes the graph
 * happened to be traced at. Found as the inductor finds them: the shapes
 * are inferred again from inputs whose dynamic sizes are large primes, so
 * a size computed from one is a product the prime factors out of.
 */
import type { Arg, TensorMeta, ValueNode } from '@kiln/eager';
import { Graph, isNode } from '@kiln/eager';
import { markerOf } from '@kiln/inductor';
import { TracedGraph } from '../backend';
import type { ExplainNode } from './graph-nodes';
import { describeNodes } from './graph-nodes';

/** How reports show a graph: its listing and its nodes, dynamic sizes as symbols where it has some. */
export function showGraph(graph: Graph): { listing: string; nodes: ExplainNode[] } {
  const symbolic = graph instanceof TracedGraph && graph.dynamicDims.size > 0 ? withMarkers(graph) : null;
  if (!symbolic) return { listing: graph.toString(), nodes: describeNodes(graph) };
  const { marked, symbols } = symbolic;
  const write = (text: string) => text.replace(/\b\d{5,}\b/g, (n) => sizeText(Number(n), symbols));
  // Sizes appear in types only (`float32[s0,16]`): attributes are the same at every size of a dynamic dim.
  const listing = marked
    .toString()
    .split('\n')
    .map((line) => {
      const at = line.indexOf('  # ');
      return line.startsWith('graph(') ? write(line) : at < 0 ? line : line.slice(0, at) + write(line.slice(at));
    })
    .join('\n');
  const names = [...symbols].map((s, k) => `s${k} = ${s.example}`);
  return {
    listing: `${listing}\n  # dynamic sizes, traced at ${names.join(', ')}`,
    nodes: describeNodes(marked).map((n) => ({ ...n, type: write(n.type) })),
  };
}

interface Symbol {
  readonly marker: number;
  readonly example: number;
}

/** The graph again with each dynamic size replaced by its marker, or null when its shapes do not follow (then it is shown as traced). */
function withMarkers(graph: TracedGraph): { marked: Graph; symbols: Symbol[] } | null {
  const symbols: Symbol[] = [];
  const bySize = new Map<number, number>();
  const marked = new Graph();
  const map = new Map<ValueNode, ValueNode>();
  const arg = (a: Arg): Arg => (isNode(a) ? map.get(a)! : a);
  try {
    let input = 0;
    for (const n of graph.nodes) {
      if (n.op === 'placeholder') {
        const dims = graph.dynamicDims.get(input++) ?? [];
        const shape = n.shape.map((s, d) => {
          if (!dims.includes(d)) return s;
          let k = bySize.get(s);
          if (k === undefined) {
            k = symbols.length;
            bySize.set(s, k);
            symbols.push({ marker: markerOf(k), example: s }); // throws past the markers there are
          }
          return symbols[k]!.marker;
        });
        const meta: TensorMeta = { shape, dtype: n.dtype, device: n.device };
        map.set(n, marked.placeholder(n.name, meta));
      } else if (n.op === 'call') map.set(n, marked.call(n.target, n.args.map(arg), n.attrs));
      else marked.output(n.args.map((a) => map.get(a)!));
    }
  } catch {
    return null;
  }
  return { marked, symbols };
}

/** A size computed from marker sizes, written from the symbols (`s0`, `4*s0`, `s0*s1`); a plain number stays one. */
function sizeText(n: number, symbols: readonly Symbol[]): string {
  const factors: string[] = [];
  let rest = n;
  symbols.forEach((s, k) => {
    while (rest % s.marker === 0 && rest > 0) {
      factors.push(`s${k}`);
      rest /= s.marker;
    }
  });
  if (factors.length === 0) return String(n);
  return rest === 1 ? factors.join('*') : `${rest}*${factors.join('*')}`;
}
