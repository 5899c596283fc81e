/**
 * For tests: records what `fn` does on symbolic tensors as a Graph (the
 * tracer's capture, without guards or breaks), so that graphs are written
 * as ordinary eager code.
 */
import { Graph, type Input, type Mode, metaStorage, Tensor, type TensorMeta, type ValueNode, views, withMode } from '@kiln/eager';

export function record(inputs: readonly TensorMeta[], fn: (...xs: Tensor[]) => Tensor | Tensor[]): Graph {
  const graph = new Graph();
  const nodeOf = new WeakMap<Tensor, ValueNode>();
  const symbol = (n: ValueNode): Tensor => {
    const t = new Tensor(metaStorage(n.device, n.dtype, 0), views.contiguousView(n.shape));
    nodeOf.set(t, n);
    return t;
  };
  const mode: Mode = {
    call(op, ins, attrs, meta) {
      const args = ins.map((x: Input) => (x instanceof Tensor ? nodeOf.get(x)! : x));
      return symbol(graph.call(op, args, attrs, meta));
    },
  };
  const xs = inputs.map((m, i) => symbol(graph.placeholder(`x${i}`, m)));
  const out = withMode(mode, () => fn(...xs));
  graph.output((Array.isArray(out) ? out : [out]).map((t) => nodeOf.get(t)!));
  return graph;
}
