import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@kiln/eager';
import { KilnError, randn, tensor } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import { CompileCounter, compile, disable, explain } from '../index';

const values = (t: Tensor) => t.toArray();
const ops = (cnt: CompileCounter) => cnt.graphs.map((g) => g.nodes.flatMap((n) => (n.op === 'call' ? [n.target] : [])));

/** The 1-based line of this file that contains `marker`. */
function lineOf(marker: string): number {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(marker) && !l.includes('lineOf('));
  if (i < 0) throw new Error(`no line with ${marker}`);
  return i + 1;
}

const negate = disable((t: Tensor) => t.neg());
const double = disable(function double(t: Tensor) {
  return t.mul(2);
});

describe('disable', () => {
  it('splits the graph around a disabled helper: 2 graphs, ops on each side, results equal eager', async () => {
    const fn = (x: Tensor) => {
      const a = x.mul(2).add(1);
      const b = negate(a);
      return b.exp().sum(1);
    };
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const x = randn([3, 4]);
    expect(await values(fast(x))).toEqual(await values(fn(x)));
    expect(ops(cnt)).toEqual([
      ['mul', 'add'],
      ['exp', 'sum'],
    ]);
    expect(fast.stats.graphBreaks).toBe(1);
    // The JS re-runs (a break), and each segment is found by structure: nothing new is compiled.
    const x2 = randn([3, 4]);
    expect(await values(fast(x2))).toEqual(await values(fn(x2)));
    expect(cnt.frameCount).toBe(2);
    expect(fast.explain().mode).toBe('re-run');
  });

  it('gives 3 graphs with two helpers', async () => {
    const fn = (x: Tensor) => double(negate(x.sin()).abs()).sqrt();
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const x = randn([5]);
    expect(await values(fast(x))).toEqual(await values(fn(x)));
    expect(ops(cnt)).toEqual([['sin'], ['abs'], ['sqrt']]);
    expect(fast.explain().breakReasons.map((b) => b.reason)).toEqual([
      'call to a function marked with disable(), which runs eagerly',
      'call to double(), marked with disable(), which runs eagerly',
    ]);
  });

  it('runs the helper eagerly, and a call outside compile directly', async () => {
    const seen: string[] = [];
    const probe = disable((t: Tensor) => {
      seen.push(t.constructor.name);
      return t;
    });
    const fast = compile((x: Tensor) => probe(x.add(1)).mul(3), { backend: 'eager' });
    await values(fast(tensor([1])));
    probe(tensor([1]));
    // Inside the compiled function the helper received a tensor that was already computed.
    expect(seen).toHaveLength(2);
  });
});

describe('data-dependent control flow', () => {
  const fn = async (x: Tensor) => {
    const s = x.sum();
    if ((await s.item()) > 0) return x.mul(2); // ITEM-BREAK
    return x.neg().exp();
  };

  it('takes both branches across calls, equal to eager each time, compiling each segment once', async () => {
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const pos = tensor([1, 2, 3]);
    const neg = tensor([-1, -2, -3]);
    expect(await values(await fast(pos))).toEqual(await values(await fn(pos)));
    expect(ops(cnt)).toEqual([['sum'], ['mul']]);
    expect(await values(await fast(neg))).toEqual(await values(await fn(neg)));
    expect(ops(cnt)).toEqual([['sum'], ['mul'], ['neg', 'exp']]);
    expect(await values(await fast(tensor([5, 0, 0])))).toEqual([10, 0, 0]);
    expect(await values(await fast(tensor([0, -5, 0])))).toEqual(await values(tensor([0, 5, 0]).exp()));
    expect(cnt.frameCount).toBe(3);
    expect(fast.stats).toMatchObject({ calls: 4, cacheHits: 3, graphBreaks: 4 });
    // The other branch is another graph: one recompile, at the call that first took it.
    expect(fast.stats.recompiles.map((r) => `call ${r.call}: ${r.reason}`)).toEqual([
      'call 2: the graph changed while re-running the JavaScript (graph 2: its op list was mul, now neg, exp)',
    ]);
  });

  it('reports the break with its reason, file:line:column and a code frame', async () => {
    const report = await explain(fn, { backend: 'eager' })(tensor([1, 2]));
    expect(report.graphBreakCount).toBe(1);
    const b = report.breakReasons[0]!;
    expect(b.reason).toBe('.item() reads the data of a traced tensor float32[]');
    const line = lineOf('ITEM-BREAK');
    expect(b.location).toMatch(new RegExp(`packages/tracer/src/capture/breaks\\.test\\.ts:${line}:\\d+$`));
    expect(b.codeFrame).toContain(`> ${line} |     if ((await s.item()) > 0)`);
    expect(b.codeFrame).toMatch(/\|\s+\^/);
    expect(report.mode).toBe('re-run');
    expect(report.modeReason).toBe('graph breaks: 1');
  });

  it('computes at a break only what the read needs', async () => {
    const cnt = new CompileCounter();
    const fast = compile(
      async (x: Tensor) => {
        const big = x.exp().mul(3);
        const s = x.sum();
        return (await s.item()) > 0 ? big.add(1) : big.sub(1);
      },
      { backend: cnt },
    );
    const x = tensor([1, 2]);
    expect(await values(await fast(x))).toEqual(await values(x.exp().mul(3).add(1)));
    expect(ops(cnt)).toEqual([['sum'], ['exp', 'mul', 'add']]);
  });

  it('computes nothing twice from the first call: values used after a break are outputs of the graph before it', async () => {
    const cnt = new CompileCounter();
    const fn = async (x: Tensor) => {
      const h = x.exp();
      const m = h.mean();
      const v = await m.item();
      return h.sub(m).mul(v);
    };
    const fast = compile(fn, { backend: cnt });
    const x = tensor([0.5, -1, 2]);
    expect(await values(await fast(x))).toEqual(await values(await fn(x)));
    // exp and mean run once, before the break; after it, only sub and mul.
    expect(ops(cnt)).toEqual([
      ['exp', 'mean'],
      ['sub', 'mul'],
    ]);
    expect(await values(await fast(x))).toEqual(await values(await fn(x)));
    expect(ops(cnt).slice(2).flat()).not.toContain('exp');
  });

  it('runs each iteration of a loop with a break per iteration as one small graph, from the first call', async () => {
    const cnt = new CompileCounter();
    const fn = async (x: Tensor) => {
      let acc = x;
      for (let i = 0; i < 6; i++) {
        acc = acc.mul(0.9).add(1);
        if ((await acc.sum().item()) > 1000) break;
      }
      return acc;
    };
    const fast = compile(fn, { backend: cnt });
    const frames: number[] = [];
    for (let c = 0; c < 3; c++) {
      const x = tensor([1, 2]);
      expect(await values(await fast(x))).toEqual(await values(await fn(x)));
      frames.push(cnt.frameCount);
    }
    // The first call keeps what each graph computed (nothing says yet what the code after a break uses),
    // so no iteration computes the loop's history again; later calls keep what was used: the same graphs.
    expect(
      ops(cnt)
        .slice(1)
        .every((o) => o.join() === 'mul,add,sum'),
    ).toBe(true);
    expect(frames[2]).toBe(frames[1]);
  });

  it('counts a read of an input as a break that needs no graph', async () => {
    const cnt = new CompileCounter();
    const fast = compile(async (x: Tensor) => ((await x.item()) > 0 ? x.add(1) : x.sub(1)), { backend: cnt });
    expect(await values(await fast(tensor([2])))).toEqual([3]);
    expect(await values(await fast(tensor([-2])))).toEqual([-3]);
    expect(ops(cnt)).toEqual([['add'], ['sub']]);
    expect(fast.explain().breakReasons[0]!.reason).toBe('.item() reads the data of input x (float32[1])');
  });

  it('lets a synchronous function return the promise of a read', async () => {
    const fast = compile((x: Tensor) => x.sum().item(), { backend: 'eager' });
    expect(await fast(tensor([1, 2, 3]))).toBe(6);
    expect(await fast(tensor([1, 2, 4]))).toBe(7);
  });

  it('handles toArray and data reads', async () => {
    const fast = compile(
      async (x: Tensor) => {
        const rows = (await x.abs().toArray()) as number[][];
        const flat = await x.mul(2).data();
        return x.add(rows[0]![0]! + flat[1]!);
      },
      { backend: 'eager' },
    );
    const x = tensor([
      [-1, 2],
      [3, 4],
    ]);
    expect(await values(await fast(x))).toEqual([
      [4, 7],
      [8, 9],
    ]);
    expect(fast.explain().breakReasons.map((b) => b.reason)).toEqual([
      '.toArray() reads the data of a traced tensor float32[2,2]',
      '.data() reads the data of a traced tensor float32[2,2]',
    ]);
  });
});

describe('fullgraph', () => {
  it('turns the first break into a KilnError naming the reason and the line', async () => {
    const fast = compile(
      async (x: Tensor) => {
        const s = x.sum();
        return (await s.item()) > 0 ? x : x.neg(); // FULLGRAPH-BREAK
      },
      { fullgraph: true, backend: 'eager' },
    );
    const err = await fast(tensor([1])).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KilnError);
    const message = (err as Error).message;
    expect(message).toContain('.item() reads the data of a traced tensor float32[]');
    expect(message).toContain(`breaks.test.ts:${lineOf('FULLGRAPH-BREAK')}:`);
    expect(message).toContain('fullgraph: true');
    expect(fast.stats.entries).toBe(0);
  });

  it('names disabled calls, accepts in-place ops (functionalized), and throws even if the function catches the error', () => {
    const helper = compile((x: Tensor) => negate(x), { fullgraph: true, backend: 'eager' });
    expect(() => helper(tensor([1]))).toThrow(/call to a function marked with disable\(\)/);
    // In-place writes are functionalized, not breaks: fullgraph accepts them.
    const inPlace = compile((x: Tensor) => x.add_(1), { fullgraph: true, backend: 'eager' });
    const x = tensor([1]);
    inPlace(x);
    expect(x.version).toBe(1);
    const swallowing = compile(
      (x: Tensor) => {
        try {
          negate(x);
        } catch {
          // ignored by the function, not by fullgraph
        }
        return x;
      },
      { fullgraph: true, backend: 'eager' },
    );
    expect(() => swallowing(tensor([1]))).toThrow(KilnError);
  });

  it('accepts a function with no break', async () => {
    const fast = compile((x: Tensor) => x.add(1), { fullgraph: true, backend: 'eager' });
    expect(await values(fast(tensor([1])))).toEqual([2]);
  });
});

describe('coercion and in-place ops', () => {
  it('records coercion of a traced tensor as a break and throws what eager throws', () => {
    const fn = (x: Tensor) => (Number(x.sum()) > 0 ? x : x.neg());
    const eagerError = (() => {
      try {
        fn(tensor([1]));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    })();
    const fast = compile(fn, { backend: 'eager' });
    expect(() => fast(tensor([1]))).toThrow(eagerError!);
    const strict = compile(fn, { backend: 'eager', fullgraph: true });
    expect(() => strict(tensor([1]))).toThrow(/coercing a traced tensor float32\[\] to a primitive/);
  });

  it("applies input mutation to the caller's tensor exactly as eager, version included", async () => {
    const fn = (x: Tensor) => {
      const y = x.mul(2);
      x.add_(1);
      return y.add(x);
    };
    const eagerX = tensor([1, 2]);
    const fastX = tensor([1, 2]);
    const fast = compile(fn, { backend: new CompileCounter() });
    for (let i = 0; i < 3; i++) {
      const want = fn(eagerX);
      const got = fast(fastX);
      expect(await values(got)).toEqual(await values(want));
      expect(await values(fastX)).toEqual(await values(eagerX));
      expect(fastX.version).toBe(eagerX.version);
    }
    expect(fastX.version).toBe(3);
  });

  it('writes through views into their base, as eager does', async () => {
    const fn = (x: Tensor) => {
      const row = x.slice(0, 1, 2);
      row.mul_(10);
      const t = x.mul(1).transpose(0, 1);
      t.fill_(7);
      return [x.sum(), t];
    };
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = tensor([
      [1, 2],
      [3, 4],
    ]);
    const [ws, wt] = fn(a);
    const [gs, gt] = compile(fn, { backend: 'eager' })(b);
    expect(await values(b)).toEqual(await values(a));
    expect([await values(gs!), await values(gt!)]).toEqual([await values(ws!), await values(wt!)]);
    expect(gt!.strides).toEqual(wt!.strides);
  });

  it('keeps results computed before a disabled helper mutates an input', async () => {
    const bump = disable((t: Tensor) => {
      t.add_(100);
    });
    const fn = (x: Tensor) => {
      const before = x.mul(1);
      bump(x);
      return before.add(x);
    };
    const a = tensor([1]);
    const b = tensor([1]);
    const want = await values(fn(a));
    expect(await values(compile(fn, { backend: 'eager' })(b))).toEqual(want);
    expect(want).toEqual([102]);
  });

  it('moves a tensor to the same device as a view, without a break', async () => {
    const cnt = new CompileCounter();
    const fast = compile((x: Tensor) => x.to('cpu').add(1), { backend: cnt });
    expect(await values(fast(tensor([1])))).toEqual([2]);
    expect(fast.stats.graphBreaks).toBe(0);
  });
});
