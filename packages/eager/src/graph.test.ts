import { describe, expect, it } from 'vitest';
import { randn, tensor } from './creation';
import type { Input, Mode } from './dispatch';
import { execute, withMode } from './dispatch';
import { F } from './functional';
import type { Arg, ValueNode } from './graph';
import { Graph, runGraph } from './graph';
import type { Decomposition } from './ops/decompositions';
import { DECOMPOSITIONS } from './ops/decompositions';
import type { CompositeAttrs, CompositeOp } from './ops/table';
import { OPS } from './ops/table';
import { Tensor } from './tensor';

describe('graph IR', () => {
  it('prints like torch.fx and runs op by op like direct eager', async () => {
    const g = new Graph();
    const x = g.placeholder('x', { shape: [8, 16], dtype: 'float32', device: 'cpu' });
    const w = g.placeholder('w', { shape: [16, 16], dtype: 'float32', device: 'cpu' });
    const h = g.call('matmul', [x, w], {});
    const a = g.call('gelu', [h], { approximate: 'tanh' });
    const y = g.call('mul', [a, 2], {});
    const s = g.call('sum', [y], { dim: [1], keepdim: false });
    g.output([s, y]);
    expect(String(g)).toBe(`graph(x: float32[8,16], w: float32[16,16]):
  %x = placeholder  # float32[8,16]
  %w = placeholder  # float32[16,16]
  %2 = matmul(%x, %w)  # float32[8,16]
  %3 = gelu(%2, approximate="tanh")  # float32[8,16]
  %4 = mul(%3, 2)  # float32[8,16]
  %5 = sum(%4, dim=[1], keepdim=false)  # float32[8]
  return (%5, %4)`);

    const xs = randn([8, 16]);
    const ws = randn([16, 16]);
    const [gs, gy] = runGraph(g, [xs, ws]) as [Tensor, Tensor];
    const ey = F.gelu(xs.matmul(ws), { approximate: 'tanh' }).mul(2);
    expect(await gy.toArray()).toEqual(await ey.toArray());
    expect(await gs.toArray()).toEqual(await ey.sum(1).toArray());
  });

  it('checks calls when building and inputs when running', () => {
    const g = new Graph();
    const x = g.placeholder('x', { shape: [2, 3], dtype: 'float32', device: 'cpu' });
    expect(() => g.call('matmul', [x, x], {})).toThrow('matmul: inner dimensions do not match: [2,3] @ [2,3] (3 != 2)');
    g.output([g.call('exp', [x], {})]);
    expect(() => runGraph(g, [tensor([1, 2, 3])])).toThrow('runGraph: input 0 (%x) must be float32[2,3], got float32[3]');
  });

  it('runs at any size of the dynamic dims it is given, and only of those', async () => {
    const g = new Graph();
    const x = g.placeholder('x', { shape: [2, 3], dtype: 'float32', device: 'cpu' });
    g.output([g.call('sum', [g.call('exp', [x], {})], { dim: [1], keepdim: false })]);
    const other = randn([5, 3]);
    const [y] = runGraph(g, [other], { dynamicDims: [[0]] });
    expect(y!.shape).toEqual([5]);
    expect(await y!.toArray()).toEqual(await other.exp().sum(1).toArray());
    expect(() => runGraph(g, [randn([5, 4])], { dynamicDims: [[0]] })).toThrow(
      'runGraph: input 0 (%x) must be float32[*,3], got float32[5,4]',
    );
    expect(() => runGraph(g, [other])).toThrow('runGraph: input 0 (%x) must be float32[2,3], got float32[5,3]');
  });

  it('a mode sees every op once, composites as one call, and can build the graph', async () => {
    const g = new Graph();
    const nodes = new Map<Tensor, ValueNode>();
    const argOf = (i: Input): Arg => {
      if (!(i instanceof Tensor)) return i;
      const known = nodes.get(i) ?? g.placeholder(`x${g.placeholders.length}`, i);
      nodes.set(i, known);
      return known;
    };
    // A minimal tracer: record each op, and compute it eagerly so the JS keeps running.
    const recorder: Mode = {
      call(op, inputs, attrs, meta) {
        const args = inputs.map(argOf);
        const out = withMode(null, () => execute(op, inputs, attrs, meta));
        nodes.set(out, g.call(op, args, attrs, meta));
        return out;
      },
    };
    const x = randn([4, 5]);
    const y = withMode(recorder, () => F.softmax(x.mul(3), -1).sum(0));
    g.output([nodes.get(y)!]);
    expect(g.nodes.map((n) => (n.op === 'call' ? n.target : n.op))).toEqual(['placeholder', 'mul', 'softmax', 'sum', 'output']);
    const [again] = runGraph(g, [x]);
    expect(await again!.toArray()).toEqual(await y.toArray());
  });

  it('a compiler lowers a composite by running its decomposition under its mode', async () => {
    const seen: string[] = [];
    const lowering: Mode = {
      call(op, inputs, attrs, meta) {
        if (OPS[op].kind === 'composite') {
          const decomposition = DECOMPOSITIONS[op as CompositeOp] as Decomposition<CompositeOp>;
          return decomposition(inputs, attrs as CompositeAttrs[CompositeOp]); // its parts come back through this mode
        }
        seen.push(op);
        return withMode(null, () => execute(op, inputs, attrs, meta));
      },
    };
    const x = randn([2, 3]);
    const y = withMode(lowering, () => F.logSoftmax(x, 1));
    expect(seen).toEqual(['max', 'sub', 'exp', 'sum', 'log', 'sub']);
    expect(await y.toArray()).toEqual(await F.logSoftmax(x, 1).toArray());
  });
});
