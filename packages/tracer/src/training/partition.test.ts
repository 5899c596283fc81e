/**
 * The partitioner's choices on small graphs written by hand: the minimum
 * cut is the set of fewest bytes, cheap values are computed again in the
 * backward, expensive and random ones never are, and the two graphs it
 * makes compute, run op by op, what the joint graph computes.
 */
import { Graph, manualSeed, randn, runGraph } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import type { GradFlags } from './joint';
import { jointGraph } from './joint';
import { FlowNetwork } from './min-cut';
import { partition } from './partition';

const f32 = (...shape: number[]) => ({ shape, dtype: 'float32' as const, device: 'cpu' as const });

describe('the minimum cut', () => {
  it('finds the cheapest set of arcs that separates source from sink, and the source side', () => {
    const net = new FlowNetwork();
    const [s, a, b, t] = [net.vertex(), net.vertex(), net.vertex(), net.vertex()];
    net.arc(s, a, 3);
    net.arc(s, b, Number.POSITIVE_INFINITY);
    net.arc(a, t, Number.POSITIVE_INFINITY);
    net.arc(b, a, 1);
    net.arc(b, t, 2);
    const cut = net.minCut(s, t);
    expect(cut.value).toBe(6);
    expect([...cut.sourceSide].sort()).toEqual([s, b]);
  });
});

/** y = sum(gelu(x W1ᵀ + b1) W2ᵀ), every input but x requiring grad. */
function mlp(): { graph: Graph; flags: GradFlags } {
  const g = new Graph();
  const x = g.placeholder('x', f32(5, 8));
  const w1 = g.placeholder('w1', f32(16, 8));
  const b1 = g.placeholder('b1', f32(16));
  const w2 = g.placeholder('w2', f32(4, 16));
  const h = g.call('add', [g.call('matmul', [x, g.call('transpose', [w1], { dim0: 0, dim1: 1 })], {}), b1], {});
  const a = g.call('gelu', [h], { approximate: 'none' });
  const y = g.call('matmul', [a, g.call('transpose', [w2], { dim0: 0, dim1: 1 })], {});
  g.output([g.call('sum', [y], { dim: null, keepdim: false })]);
  return { graph: g, flags: { inputs: [false, true, true, true], nodes: [true, true, true, true, true, true, true], outputs: [true] } };
}

describe('the partition', () => {
  it('saves the pre-activation (gelu needs it anyway) and computes gelu again in the backward', () => {
    const { graph, flags } = mlp();
    const p = partition(jointGraph(graph, flags));
    // x (for W1's gradient), W2 (for the activation's), and the pre-activation, not the activation.
    expect(p.report.saved.map((s) => `${s.op} ${s.type}`)).toEqual(['input float32[5,8]', 'input float32[4,16]', 'add float32[5,16]']);
    expect(p.report.savedBytes).toBe((5 * 8 + 4 * 16 + 5 * 16) * 4);
    expect(p.report.recomputed).toContain('gelu');
    expect(p.backward.nodes.some((n) => n.op === 'call' && n.target === 'gelu')).toBe(true);
    // The forward returns its result and the one saved value that is not an input.
    expect(p.forward.outputs.length).toBe(2);
  });

  it('never draws a random number again: it saves the (smaller) mask made from it instead', () => {
    const g = new Graph();
    const x = g.placeholder('x', f32(64));
    const keep = g.call('ge', [g.call('rand', [], { shape: [64], device: 'cpu' }), 0.5], {});
    const y = g.call('where', [keep, g.call('mul', [x, 2], {}), 0], {});
    g.output([g.call('sum', [y], { dim: null, keepdim: false })]);
    const p = partition(jointGraph(g, { inputs: [true], nodes: [false, false, true, true, true], outputs: [true] }));
    expect(p.backward.nodes.some((n) => n.op === 'call' && n.target === 'rand')).toBe(false);
    expect(p.report.saved).toEqual([{ op: 'ge', type: 'bool[64]', bytes: 64 }]);
  });

  it('gives graphs that compute what the joint graph computes: the forward its results, the backward the gradients', async () => {
    const { graph, flags } = mlp();
    const joint = jointGraph(graph, flags);
    const p = partition(joint);
    manualSeed(1);
    const inputs = graph.placeholders.map((ph) => randn(ph.shape));
    const tangent = randn([]);
    const whole = runGraph(joint.graph, [...inputs, tangent]);
    const forward = runGraph(p.forward, inputs);
    const saved = p.saved.map((s) => ('input' in s ? inputs[s.input]! : forward[s.output]!));
    const grads = runGraph(p.backward, [...saved, tangent]);
    expect(joint.gradInputs).toEqual([1, 2, 3]);
    expect(await forward[0]!.item()).toBeCloseTo(await whole[0]!.item(), 5);
    for (const [i, gr] of grads.entries()) {
      expect(gr.shape).toEqual(whole[1 + i]!.shape);
      const [a, b] = [await gr.data(), await whole[1 + i]!.data()];
      b.forEach((v, k) => expect(a[k]).toBeCloseTo(v, 5));
    }
  });
});
