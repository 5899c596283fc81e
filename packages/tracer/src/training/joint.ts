/**
 * The joint forward + backward graph, built ahead of time (AOTAutograd's
 * first step): the captured forward graph (its nodes keep their ids), then
 * one tangent input per result whose gradient may arrive, then the
 * backward: each forward op that needs grad, latest first, differentiated
 * by its rule from the autograd rule table (`VJP`, written with kiln ops)
 * run on symbolic tensors, so that the rule's ops are recorded as graph
 * nodes. The partitioner (./partition)
 * then cuts it into the forward and backward graphs that run.
 */
import type { Graph, Input, TensorMeta, ValueNode, VjpContext, VjpRule } from '@kiln/eager';
import { checkedGradient, Graph as GraphClass, KilnError, type Tensor, VJP, withGradMode, withMode } from '@kiln/eager';
import { GraphRecording } from './graph-recording';

/** Which values of a forward graph carry a gradient. */
export interface GradFlags {
  /** Per placeholder: it requires grad (its gradient is wanted). */
  readonly inputs: readonly boolean[];
  /** Per call node, in graph order: eager would record it for backward. */
  readonly nodes: readonly boolean[];
  /** Per graph output: a result whose gradient may arrive (a tangent input of the backward). */
  readonly outputs: readonly boolean[];
}

export interface JointGraph {
  /** Placeholders: the forward's inputs (primals), then the tangents. Outputs: the forward's outputs, then the gradients. */
  readonly graph: Graph;
  readonly primals: number;
  /** The forward output each tangent is the gradient of. */
  readonly tangentOf: readonly number[];
  /** The forward output count (the gradients follow). */
  readonly forwardOutputs: number;
  /** The primal each gradient output is for (primals that require grad and that some gradient reaches). */
  readonly gradInputs: readonly number[];
}

/** The joint graph of `forward` with the gradient flags `flags` (every op that needs grad has a rule). */
export function jointGraph(forward: Graph, flags: GradFlags): JointGraph {
  const graph = new GraphClass();
  const rec = new GraphRecording(graph);
  const value = new Map<ValueNode, Tensor>();
  const carries = new Set<ValueNode>();
  const placeholders = forward.placeholders;
  placeholders.forEach((p, i) => {
    value.set(p, rec.tensorOf(graph.placeholder(p.name, p)));
    if (flags.inputs[i]) carries.add(p);
  });
  const calls = forward.nodes.filter((n) => n.op === 'call');
  calls.forEach((n, k) => {
    const args = n.args.map((a) => (typeof a === 'object' ? rec.nodeOf(value.get(a)!) : a));
    value.set(n, rec.tensorOf(graph.call(n.target, args, n.attrs, n)));
    if (flags.nodes[k]) carries.add(n);
  });
  const outputs = forward.outputs;
  const tangentOf: number[] = [];
  const grads = new Map<ValueNode, Tensor>();
  const add = (n: ValueNode, g: Tensor) => {
    const prev = grads.get(n);
    grads.set(n, prev ? prev.add(g) : g);
  };
  withMode(rec, () =>
    withGradMode(
      false,
      () => {
        outputs.forEach((o, i) => {
          if (!flags.outputs[i] || !carries.has(o)) return;
          tangentOf.push(i);
          add(o, rec.tensorOf(graph.placeholder(`tangent_${i}`, o)));
        });
        for (let k = calls.length - 1; k >= 0; k--) {
          const n = calls[k]!;
          const g = grads.get(n);
          if (g === undefined || !carries.has(n)) continue;
          const inputGrads = applyRule(n, g, value, carries);
          inputGrads.forEach((gi, i) => {
            const a = n.args[i];
            if (gi && typeof a === 'object') add(a, gi);
          });
        }
      },
      'backward',
    ),
  );
  const gradInputs = placeholders.flatMap((p, i) => (carries.has(p) && grads.has(p) ? [i] : []));
  graph.output([...outputs.map((o) => rec.nodeOf(value.get(o)!)), ...gradInputs.map((i) => rec.nodeOf(grads.get(placeholders[i]!)!))]);
  return { graph, primals: placeholders.length, tangentOf, forwardOutputs: outputs.length, gradInputs };
}

/** Node `n`'s rule on its output's gradient `g`: each input's gradient (null where it carries none), summed to its shape. */
function applyRule(n: ValueNode & { op: 'call' }, g: Tensor, value: Map<ValueNode, Tensor>, carries: Set<ValueNode>): (Tensor | null)[] {
  const rule = VJP[n.target];
  if (typeof rule !== 'object') {
    throw new KilnError(`internal: ${n.target} needs grad in a compiled graph but has no backward rule (${rule})`, { op: 'compile' });
  }
  const needs = n.args.map((a) => typeof a === 'object' && carries.has(a));
  const input = (i: number): Input => {
    const a = n.args[i];
    if (a === undefined) throw new KilnError(`internal: the rule of ${n.target} asked for input ${i}`, { op: 'compile' });
    return typeof a === 'object' ? value.get(a)! : a;
  };
  const ctx: VjpContext = {
    op: n.target,
    attrs: n.attrs,
    inputs: n.args.map((a) => (typeof a === 'object' ? (a as TensorMeta) : a)),
    output: n,
    needs,
    view: null,
    input,
    result: () => value.get(n)!,
  };
  const grads = (rule as VjpRule<typeof n.target>).vjp(g, ctx as never);
  return n.args.map((a, i) => {
    const gi = grads[i];
    return needs[i] && gi && typeof a === 'object' ? checkedGradient(gi, a, `input ${i} of ${n.target}`) : null;
  });
}
