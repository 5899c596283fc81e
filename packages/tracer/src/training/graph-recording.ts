/**
 * Recording kiln ops into a `Graph` with symbolic tensors (shape, dtype and
 * device, no data): how the backward rules, written with kiln ops, become
 * the backward half of a joint graph. Every dispatched op becomes one call
 * node (composites stay whole: the inductor decomposes them).
 */
import type { AttrsOf, Graph, Input, Mode, OpName, TensorMeta, ValueNode } from '@kiln/eager';
import { KilnError, metaStorage, Tensor, views } from '@kiln/eager';

export class GraphRecording implements Mode {
  private readonly nodes = new WeakMap<Tensor, ValueNode>();

  constructor(readonly graph: Graph) {}

  /** A symbolic tensor standing for `node`. */
  tensorOf(node: ValueNode): Tensor {
    const t = new Tensor(metaStorage(node.device, node.dtype, 0), views.contiguousView(node.shape));
    this.nodes.set(t, node);
    return t;
  }

  /** The node a symbolic tensor of this recording stands for. */
  nodeOf(t: Tensor): ValueNode {
    const n = this.nodes.get(t);
    if (!n) throw new KilnError(`internal: ${t.describe()} is not a value of the graph being built`, { op: 'compile' });
    return n;
  }

  call<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor {
    if (op === 'copy_' || op === 'fill_') {
      throw new KilnError(`internal: a backward rule wrote in place (${op}) while building a backward graph`, { op: 'compile' });
    }
    const args = inputs.map((x) => (x instanceof Tensor ? this.nodeOf(x) : x));
    return this.tensorOf(this.graph.call(op, args, attrs, meta));
  }
}
