import type { Tensor } from '@kiln/eager';
import { manualSeed, randn, tensor, zeros } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import type { Backend } from './index';
import { CompileCounter, compile } from './index';

const values = (t: Tensor) => t.toArray();
const x0 = tensor([1, 2]);

describe('capture of a pure function', () => {
  const fn = (x: Tensor, y: Tensor) => x.mul(y).add(1).relu();

  it('records one graph with its ops and no break; the same shapes compile nothing more', async () => {
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const x = randn([4, 3]);
    const y = randn([4, 3]);
    expect(await values(fast(x, y))).toEqual(await values(fn(x, y)));
    expect([cnt.frameCount, cnt.opCount]).toEqual([1, 3]);
    expect(cnt.graphs[0]!.nodes.filter((n) => n.op === 'call').map((n) => n.op === 'call' && n.target)).toEqual(['mul', 'add', 'relu']);
    const x2 = randn([4, 3]);
    expect(await values(fast(x2, y))).toEqual(await values(fn(x2, y)));
    expect(cnt.frameCount).toBe(1);
    expect(fast.stats).toMatchObject({ calls: 2, cacheHits: 1, recompiles: [], entries: 1, graphBreaks: 0 });
    expect(fast.explain().mode).toBe('replay');
  });

  it('recompiles for a new shape, naming the guard with expected and actual values', async () => {
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    fast(randn([4, 3]), randn([4, 3]));
    const x = randn([4, 5]);
    const y = randn([4, 5]);
    expect(await values(fast(x, y))).toEqual(await values(fn(x, y)));
    expect(cnt.frameCount).toBe(2);
    expect(fast.stats.recompiles).toHaveLength(1);
    expect(fast.stats.recompiles[0]).toMatchObject({ guard: 'x.shape[1] == 3', expected: '3', actual: '5' });
    expect(fast.stats.recompiles[0]!.reason).toBe('x.shape[1] == 3 failed: expected 3, got 5');
  });

  it('recompiles for a new dtype, naming the dtype guard', () => {
    const cnt = new CompileCounter();
    const fast = compile((x: Tensor) => x.add(x), { backend: cnt });
    fast(randn([3]));
    fast(tensor([1, 2, 3], { dtype: 'int32' }));
    expect(cnt.frameCount).toBe(2);
    expect(fast.stats.recompiles[0]!.reason).toBe("x.dtype == 'float32' failed: expected 'float32', got 'int32'");
  });

  it('names, for each cache entry, the guard that failed for it: a transposed input misses the entry of its shape on layout', () => {
    const fast = compile((x: Tensor) => x.mul(2), { backend: 'eager' });
    fast(randn([4, 4])); // entry 1
    fast(randn([1, 4])); // entry 2 (size 1 stays specialized)
    fast(randn([4, 4]).transpose(0, 1));
    expect(fast.stats.recompiles[1]).toMatchObject({
      reason:
        'entry 1: x is contiguous failed: expected contiguous, got not contiguous; entry 2: x.shape[0] == 1 failed: expected 1, got 4',
      guard: 'x is contiguous',
      expected: 'contiguous',
      actual: 'not contiguous',
      entries: [
        { entry: 1, guard: 'x is contiguous', expected: 'contiguous', actual: 'not contiguous' },
        { entry: 2, guard: 'x.shape[0] == 1', expected: '1', actual: '4' },
      ],
    });
    expect(fast.explain().recompiles.at(-1)).toMatch(/^call 3: entry 1: x is contiguous failed/);
  });

  it('guards primitives by value and containers by structure', async () => {
    const cnt = new CompileCounter();
    const f = (inputs: { xs: Tensor[]; scale: number; mode: string }) =>
      inputs.mode === 'sum' ? inputs.xs[0]!.add(inputs.xs[1]!).mul(inputs.scale) : inputs.xs[0]!.mul(inputs.scale);
    const fast = compile(f, { backend: cnt });
    const a = randn([2]);
    const b = randn([2]);
    expect(await values(fast({ xs: [a, b], scale: 0.5, mode: 'sum' }) as Tensor)).toEqual(await values(a.add(b).mul(0.5)));
    expect(fast.explain().guards).toEqual(
      expect.arrayContaining(['inputs.scale == 0.5', "inputs.mode == 'sum'", 'inputs.xs is an array of length 2']),
    );
    expect(await values(fast({ xs: [a, b], scale: 2, mode: 'sum' }) as Tensor)).toEqual(await values(a.add(b).mul(2)));
    expect(fast.stats.recompiles[0]!.reason).toBe('inputs.scale == 0.5 failed: expected 0.5, got 2');
    expect(await values(fast({ xs: [a, b], scale: 2, mode: 'one' }) as Tensor)).toEqual(await values(a.mul(2)));
    expect(fast.stats.recompiles[1]!.guard).toBe("inputs.mode == 'sum'");
    fast({ xs: [a], scale: 2, mode: 'one' });
    expect(fast.stats.recompiles[2]!.reason).toBe(
      'inputs.xs is an array of length 2 failed: expected an array of length 2, got an array of length 1',
    );
  });

  it('rebuilds nested outputs on each call, with primitives and the same tensor twice', async () => {
    const fast = compile(
      (x: Tensor) => {
        const y = x.exp();
        return { y, both: [y, x.neg()], n: x.shape[0]!, label: 'ok' };
      },
      { backend: new CompileCounter() },
    );
    const x = randn([3]);
    const r1 = fast(x);
    const r2 = fast(x);
    expect(r2).not.toBe(r1);
    expect(r2.both).not.toBe(r1.both);
    expect(r2.both[0]).toBe(r2.y);
    expect(r2.y).not.toBe(r1.y);
    expect([r2.n, r2.label]).toEqual([3, 'ok']);
    expect(await values(r2.both[1]!)).toEqual(await values(x.neg()));
    expect(fast.explain().mode).toBe('replay');
  });

  it('returns an input array or object itself, as eager does', () => {
    for (const backend of ['eager', new CompileCounter()] as const) {
      const fast = compile((x: Tensor, opts: { k: number }, list: Tensor[]) => ({ y: x.mul(opts.k), opts, list }), { backend });
      for (let i = 0; i < 2; i++) {
        const opts = { k: 2 };
        const list = [x0];
        const r = fast(x0, opts, list);
        expect(r.opts).toBe(opts);
        expect(r.list).toBe(list);
      }
    }
  });

  it('returns views of inputs as views, as eager does', async () => {
    const fn = (x: Tensor) => x.transpose(0, 1);
    const fast = compile(fn, { backend: 'eager' });
    for (let i = 0; i < 2; i++) {
      const x = tensor([
        [1, 2],
        [3, 4],
      ]);
      const t = fast(x);
      expect(t.strides).toEqual(fn(x).strides);
      t.mul_(10);
      expect(await values(x)).toEqual([
        [10, 20],
        [30, 40],
      ]);
    }
    expect(fast.explain().mode).toBe('replay');
    expect(fast.length).toBe(1);
  });

  it('never overwrites the outputs of an earlier call', async () => {
    for (const backend of ['eager', 'inductor'] as const) {
      const fast = compile((x: Tensor) => x.mul(2).add(1), { backend });
      const a = fast(tensor([1, 2, 3]));
      const first = await values(a);
      const b = fast(tensor([10, 20, 30]));
      expect(await values(a)).toEqual(first);
      expect(await values(b)).toEqual([21, 41, 61]);
    }
  });

  it('keeps async functions async and sync functions sync', async () => {
    const sync = compile((x: Tensor) => x.add(1), { backend: 'eager' });
    const async_ = compile(async (x: Tensor) => x.add(1), { backend: 'eager' });
    const x = tensor([1, 2]);
    expect(sync(x)).not.toBeInstanceOf(Promise);
    for (let i = 0; i < 2; i++) {
      const p = async_(x);
      expect(p).toBeInstanceOf(Promise);
      expect(await values(await p)).toEqual([2, 3]);
    }
    expect(async_.explain().mode).toBe('replay');
  });

  it('replays random ops in the same stream order as eager', async () => {
    const fn = () => randn([4]).add(randn([4]).mul(0.5));
    manualSeed(3);
    const want = [await values(fn()), await values(fn())];
    const fast = compile(fn, { backend: new CompileCounter() });
    manualSeed(3);
    expect([await values(fast()), await values(fast())]).toEqual(want);
  });
});

describe('modules', () => {
  it('binds forward to the module; its tensor fields are parameters, guarded like tensor inputs and read fresh', async () => {
    const w1 = randn([3, 2]);
    const w2 = randn([3, 2]);
    const cnt = new CompileCounter();
    const model = {
      w: w1,
      scale: 2,
      forward(x: Tensor) {
        return x.matmul(this.w).mul(this.scale);
      },
    };
    const fast = compile(model, { backend: cnt });
    const x = randn([4, 3]);
    expect(await values(fast(x))).toEqual(await values(x.matmul(w1).mul(2)));
    expect(fast.explain().guards).toEqual(
      expect.arrayContaining(['model.w.shape[0] == 3', 'model.w.shape[1] == 2', 'x, model.w are distinct tensors']),
    );
    // In place: the same parameter object with new values is read fresh, without recompiling.
    w1.mul_(0);
    expect(await values(fast(x))).toEqual(await values(x.matmul(w1).mul(2)));
    // Swapped for another tensor of the same kind (an optimizer step that makes new tensors): used, without recompiling.
    model.w = w2;
    expect(await values(fast(x))).toEqual(await values(x.matmul(w2).mul(2)));
    expect(cnt.frameCount).toBe(1);
    expect(fast.stats.recompiles).toEqual([]);
    // Of another shape: a recompile that names the guard.
    model.w = randn([3, 5]);
    expect(await values(fast(x))).toEqual(await values(x.matmul(model.w).mul(2)));
    expect(fast.stats.recompiles[0]!.reason).toBe('model.w.shape[1] == 2 failed: expected 2, got 5');
    model.scale = 3;
    expect(await values(fast(x))).toEqual(await values(x.matmul(model.w).mul(3)));
    expect(fast.stats.recompiles[1]).toMatchObject({
      reason: 'entry 1: model.w.shape[1] == 2 failed: expected 2, got 5; entry 2: model.scale == 2 failed: expected 2, got 3',
      guard: 'model.scale == 2', // the entry that came closest
    });
  });

  it('guards forward itself: a swapped forward is analyzed and traced anew', () => {
    let calls = 0;
    const model: { forward: (x: Tensor) => Tensor } = { forward: (x: Tensor) => x.neg() };
    const fast = compile(model, { backend: 'eager' });
    fast(x0);
    expect(fast.explain().mode).toBe('replay');
    model.forward = (x: Tensor) => {
      calls++;
      return x.abs();
    };
    fast(x0);
    fast(x0);
    expect(calls).toBe(2);
    expect(fast.explain().mode).toBe('re-run');
  });

  it('compiles class instances with forward on the prototype', async () => {
    class Linear {
      constructor(
        readonly weight: Tensor,
        readonly bias: Tensor,
      ) {}
      forward(x: Tensor): Tensor {
        return x.matmul(this.weight).add(this.bias);
      }
    }
    const m = new Linear(randn([3, 2]), randn([2]));
    const fast = compile(m, { backend: 'eager' });
    const x = randn([5, 3]);
    expect(await values(fast(x))).toEqual(await values(m.forward(x)));
    expect(fast.name).toBe('Linear.forward');
  });
});

describe('nesting and errors', () => {
  it('traces through a compiled function called inside a compiled function', async () => {
    const inner = compile((x: Tensor) => x.mul(2), { backend: 'eager' });
    const cnt = new CompileCounter();
    const outer = compile((x: Tensor) => inner(x).add(1).exp(), { backend: cnt });
    const x = randn([3]);
    expect(await values(outer(x))).toEqual(await values(x.mul(2).add(1).exp()));
    expect([cnt.frameCount, cnt.opCount]).toEqual([1, 3]);
    expect(inner.stats.entries).toBe(0);
  });

  it('lets an exception thrown by fn while tracing reach the caller unchanged, and caches nothing', () => {
    const boom = new Error('boom');
    const cnt = new CompileCounter();
    let fail = true;
    const fast = compile(
      (x: Tensor) => {
        const y = x.mul(2);
        if (fail) throw boom;
        return y;
      },
      { backend: cnt },
    );
    expect(() => fast(zeros([2]))).toThrow(boom);
    expect(fast.stats.entries).toBe(0);
    expect(cnt.frameCount).toBe(0);
    fail = false;
    fast(zeros([2]));
    expect(fast.stats.entries).toBe(1);
  });

  it('reports a wrong op the same way eager does', () => {
    const fast = compile((x: Tensor, y: Tensor) => x.matmul(y), { backend: 'eager' });
    expect(() => fast(zeros([2, 3]), zeros([2, 3]))).toThrow(/inner dimensions do not match/);
  });

  it('reset forgets entries and counts', () => {
    const cnt = new CompileCounter();
    const fast = compile((x: Tensor) => x.neg(), { backend: cnt });
    fast(zeros([2]));
    fast.reset();
    expect(fast.stats).toMatchObject({ calls: 0, entries: 0 });
    fast(zeros([2]));
    expect(cnt.frameCount).toBe(2);
  });

  it('refuses what it cannot compile with a KilnError', () => {
    expect(() => compile({} as never)).toThrow(/expected a function or an object with a forward method/);
    expect(() => compile((x: Tensor) => x, { cacheSizeLimit: 0 })).toThrow(/cacheSizeLimit must be a positive integer/);
  });
});

describe('custom backends', () => {
  it('calls a backend function with the graph and example inputs, and checks what it returns', async () => {
    const seen: string[] = [];
    const double = (graph: Parameters<Backend>[0], example: readonly Tensor[]) => {
      seen.push(`${graph.nodes.length} nodes, ${example.length} inputs`);
      return (inputs: readonly Tensor[]) => [inputs[0]!.mul(2)];
    };
    const fast = compile((x: Tensor) => x.add(0), { backend: double });
    expect(await values(fast(tensor([1, 2])))).toEqual([2, 4]);
    expect(seen).toEqual(['3 nodes, 1 inputs']);
    const wrong = compile((x: Tensor) => x.sum(), { backend: () => (inputs: readonly Tensor[]) => [inputs[0]!] });
    expect(() => wrong(tensor([1, 2]))).toThrow(
      /the backend returned Tensor\(float32\[2\], cpu\) for output 0 of a graph, expected float32\[\] on cpu/,
    );
    expect(() => compile((x: Tensor) => x, { backend: 'fast' as never })).toThrow(/backend must be 'inductor', 'eager' or a function/);
  });
});
