import { F } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../compile';
import { record } from '../testing/record';

const cpu = (shape: number[]) => ({ shape, dtype: 'float32' as const, device: 'cpu' as const });

describe('kernel graphNodes', () => {
  it('names the graph nodes each kernel computes: a fused chain is one kernel, every op in some kernel', () => {
    const graph = record([cpu([4, 8]), cpu([8, 3])], (x, w) => F.softmax(x.mul(2).add(1).matmul(w).relu(), -1));
    const compiled = compileGraph(graph);
    const calls = graph.nodes.filter((n) => n.op === 'call');
    const covered = new Set(compiled.kernels.flatMap((k) => k.graphNodes));
    for (const n of calls) expect(covered.has(n.id), `${n.op === 'call' ? n.target : ''} #${n.id}`).toBe(true);
    const byTarget = (t: string) => calls.find((n) => n.op === 'call' && n.target === t)!.id;
    const kernelOf = (id: number) => compiled.kernels.filter((k) => k.graphNodes.includes(id)).map((k) => k.name);
    // mul and add are one pointwise kernel (the matmul's operand); relu is read by softmax's row kernel
    expect(kernelOf(byTarget('mul'))).toEqual(kernelOf(byTarget('add')));
    expect(kernelOf(byTarget('relu'))).toEqual(kernelOf(byTarget('softmax')));
    expect(kernelOf(byTarget('softmax'))).toHaveLength(1);
    expect(kernelOf(byTarget('matmul'))).toHaveLength(1);
    expect(kernelOf(byTarget('softmax'))).not.toEqual(kernelOf(byTarget('matmul')));
    // placeholders are inputs, computed by no kernel
    for (const p of graph.placeholders) expect(kernelOf(p.id)).toEqual([]);
  });

  it('marks the graph node of an extern', () => {
    const graph = record([cpu([4, 6]), cpu([6, 5])], (a, b) => a.cast('int32').matmul(b.cast('int32')));
    const compiled = compileGraph(graph);
    const extern = compiled.kernels.find((k) => k.kind === 'extern')!;
    const mm = graph.nodes.find((n) => n.op === 'call' && n.target === 'matmul')!;
    expect(extern.graphNodes).toEqual([mm.id]);
  });
});
