/**
 * The tracer's side of closure guarding. Each `closure` record below is
 * written by hand exactly as the load-time transform writes it (see
 * ../transform/transform.test.ts for the transform itself, and
 * test/closure-transform.test.ts for the two together).
 */
import { Tensor, tensor } from '@kiln/eager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompileCounter, compile } from '../index';

const values = (t: unknown) => (t as Tensor).toArray();

afterEach(() => vi.restoreAllMocks());

describe('closure tensors', () => {
  let w = tensor([
    [1, 0],
    [0, 1],
  ]);
  let b = tensor([10, 20]);
  const fn = (x: Tensor) => x.matmul(w).add(b);
  const closure = { names: ['w', 'b'], get: () => [w, b], kiln: [], globals: [] };

  it('are guarded like inputs and read fresh: the function replays, and a rebound weight is seen without a recompile', async () => {
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt, closure });
    const x = tensor([[1, 2]]);
    expect(await values(fast(x))).toEqual([[11, 22]]);
    const report = fast.explain();
    expect(report.mode).toBe('replay');
    expect(report.modeReason).toMatch(/^closures guarded by the load-time transform \(w, b\)/);
    expect(report.toString()).toContain('mode: replay (closures guarded by the load-time transform (w, b)');
    expect(report.guards).toEqual(expect.arrayContaining(["w.dtype == 'float32'", 'w.shape[0] == 2', 'b.shape[0] == 2']));

    // The JavaScript does not run on a hit: no Tensor method is called.
    const matmul = vi.spyOn(Tensor.prototype, 'matmul');
    w = tensor([
      [2, 0],
      [0, 3],
    ]);
    expect(await values(fast(x))).toEqual([[12, 26]]);
    b = tensor([0, 0]);
    expect(await values(fast(x))).toEqual([[2, 6]]);
    expect(matmul).not.toHaveBeenCalled();
    expect(cnt.frameCount).toBe(1);
    expect(fast.stats).toMatchObject({ calls: 3, cacheHits: 2, recompiles: [] });
  });

  it('recompile when a rebound tensor has another shape, naming the guard', async () => {
    const fast = compile(fn, { backend: 'eager', closure });
    fast(tensor([[1, 2]]));
    w = tensor([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    b = tensor([1, 1, 1]);
    expect(await values(fast(tensor([[1, 2]])))).toEqual([[2, 3, 1]]);
    expect(fast.stats.recompiles[0]!.reason).toBe('w.shape[1] == 2 failed: expected 2, got 3');
    w = tensor([
      [1, 0],
      [0, 1],
    ]);
    b = tensor([10, 20]);
  });

  it('that is the same object as an argument is guarded as such (the graph has one input for both)', async () => {
    const fast = compile((x: Tensor) => x.add(w), { backend: 'eager', closure: { names: ['w'], get: () => [w] } });
    expect(await values(fast(w))).toEqual([
      [2, 0],
      [0, 2],
    ]);
    expect(
      await values(
        fast(
          tensor([
            [1, 1],
            [1, 1],
          ]),
        ),
      ),
    ).toEqual([
      [2, 1],
      [1, 2],
    ]);
    expect(fast.stats.recompiles[0]!.reason).toMatch(/^w is x failed/);
  });
});

describe('closure primitives, functions and objects', () => {
  it('a number is guarded by value', async () => {
    let scale = 2;
    const fast = compile((x: Tensor) => x.mul(scale), { backend: 'eager', closure: { names: ['scale'], get: () => [scale] } });
    expect(await values(fast(tensor([1, 2])))).toEqual([2, 4]);
    scale = 3;
    expect(await values(fast(tensor([1, 2])))).toEqual([3, 6]);
    expect(fast.stats.recompiles[0]!.reason).toBe('scale == 2 failed: expected 2, got 3');
    expect(fast.explain().mode).toBe('replay');
  });

  it('a plain object is guarded by the fields the code reads, not the others', async () => {
    const cfg = { eps: 0.5, model: { scale: 2 }, step: 0 };
    const fast = compile((x: Tensor) => x.add(cfg.eps).mul(cfg.model.scale), {
      backend: 'eager',
      closure: { names: ['cfg'], get: () => [cfg] },
    });
    expect(await values(fast(tensor([1])))).toEqual([3]);
    expect(fast.explain().guards).toEqual(expect.arrayContaining(['cfg is a plain object', 'cfg.eps == 0.5', 'cfg.model.scale == 2']));
    expect(fast.explain().guards.some((g) => g.includes('step'))).toBe(false);
    cfg.step = 1; // not read: still a hit
    expect(await values(fast(tensor([1])))).toEqual([3]);
    expect(fast.stats.recompiles).toHaveLength(0);
    cfg.model.scale = 10; // read: seen
    expect(await values(fast(tensor([1])))).toEqual([15]);
    expect(fast.stats.recompiles[0]!.reason).toBe('cfg.model.scale == 2 failed: expected 2, got 10');
  });

  it('a helper function is guarded by identity, and what it reads is guarded too; the function still replays', async () => {
    let w2 = tensor([3, 4]);
    let helper = (t: Tensor) => t.mul(w2);
    const fast = compile((x: Tensor) => helper(x).sum(), {
      backend: 'eager',
      closure: { names: ['helper', 'w2'], get: () => [helper, w2] },
    });
    expect(await values(fast(tensor([1, 1])))).toEqual(7);
    const report = fast.explain();
    expect(report.mode).toBe('replay');
    expect(report.modeReason).toContain('(helper, w2)');
    expect(report.guards.some((g) => /^helper is <function helper #\d+>$/.test(g))).toBe(true);
    w2 = tensor([1, 1]);
    expect(await values(fast(tensor([1, 1])))).toEqual(2);
    helper = (t: Tensor) => t.mul(w2).mul(2);
    expect(await values(fast(tensor([1, 1])))).toEqual(4);
    expect(fast.stats.recompiles[0]!.reason).toMatch(/^helper is <function helper #\d+> failed/);
  });

  it('a helper with a side effect makes the function re-run, and explain says which and why', async () => {
    const log: number[] = [];
    const noisy = (t: Tensor) => {
      log.push(1);
      return t.neg();
    };
    const fast = compile((x: Tensor) => noisy(x).abs(), {
      backend: 'eager',
      closure: { names: ['noisy', 'log'], get: () => [noisy, log] },
    });
    fast(tensor([1]));
    fast(tensor([1]));
    expect(log).toHaveLength(2);
    const report = fast.explain();
    expect(report.mode).toBe('re-run');
    expect(report.modeReason).toMatch(/closure: it uses `noisy`, which has a side effect at line 2: log\.push\(\.\.\.\) changes `log`/);
  });

  it('an entry that re-runs anyway does not guard its closure: a value changing on every call fails no guard', async () => {
    let step = 0;
    const seen: number[] = [];
    const fast = compile(
      (x: Tensor) => {
        seen.push(step);
        return x.mul(step);
      },
      { backend: 'eager', closure: { names: ['seen', 'step'], get: () => [seen, step] } },
    );
    for (step = 1; step <= 12; step++) expect(await values(fast(tensor([1])))).toEqual([step]);
    expect(seen).toHaveLength(12);
    expect(fast.stats.entries).toBe(1);
    expect(fast.explain().guards.some((g) => g.startsWith('step'))).toBe(false);
    // Its graph does change (mul's scalar): that is the recompile limit's business, not a guard's.
    expect(fast.stats.recompiles.every((r) => r.reason.startsWith('the graph changed while re-running'))).toBe(true);
  });

  it('a free variable the transform did not pass (a global, or shadowed at the call) makes it re-run, and says so', () => {
    (globalThis as { kilnTestGlobal?: number }).kilnTestGlobal = 2;
    const fast = compile((x: Tensor) => x.mul((globalThis as { kilnTestGlobal?: number }).kilnTestGlobal ?? 1).add(offset), {
      backend: 'eager',
      closure: { names: [], get: () => [], globals: [] },
    });
    const offset = 1;
    fast(tensor([1]));
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.explain().modeReason).toContain('closure: it reads `offset`, which the load-time transform did not pass');
  });

  it('a variable read before its declaration ran makes that call run the function as written', async () => {
    const fast = compile((x: Tensor) => x.mul(late), { backend: 'eager', closure: { names: ['late'], get: () => [late] } });
    expect(() => fast(tensor([1]))).toThrow(ReferenceError);
    const late = 4;
    expect(await values(fast(tensor([1])))).toEqual([4]);
    expect(fast.explain().mode).toBe('replay');
  });

  it('rejects a malformed record with a KilnError naming the function', () => {
    expect(() =>
      compile(
        function named(x: Tensor) {
          return x;
        },
        { closure: { names: 'w' } as never },
      ),
    ).toThrow(/named: options\.closure must be/);
  });
});

describe('renamed parameters', () => {
  it('name the inputs in guards and graphs by the names the record gives them', () => {
    // What tsx makes of `(x, w) => x.mul(w)` in a module that also declares x and w.
    const fast = compile((x2: Tensor, w2: Tensor) => x2.mul(w2), {
      backend: 'eager',
      closure: { names: [], get: () => [], renamed: { x2: 'x', w2: 'w' } },
    });
    fast(tensor([1, 2]), tensor([3, 4]));
    const report = fast.explain();
    expect(report.guards).toContain('x.shape[0] == 2');
    expect(report.guards).toContain('x, w are distinct tensors');
    expect(report.graphs[0]!.graph).toMatch(/^graph\(x: float32\[2\], w: float32\[2\]\)/);
  });
});
