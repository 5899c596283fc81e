import type { Tensor } from '@kiln/eager';
import { memoryStats, randn, tensor, tidy } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import { CompileCounter, compile, disable } from '../index';

const values = (t: Tensor) => t.toArray();
const mark = disable((t: Tensor) => t);

describe('lifetimes', () => {
  it('leaks no tensor in a tidy loop, in replay and in re-run mode with breaks', async () => {
    const replay = compile((x: Tensor) => x.mul(2).add(1));
    const rerun = compile((x: Tensor) => mark(x.exp()).sum().add(x.shape[0]!));
    const x = randn([8]);
    replay(x);
    rerun(x);
    const before = memoryStats().liveTensors;
    for (let i = 0; i < 50; i++) {
      tidy(() => {
        replay(x).neg();
        rerun(x).neg();
      });
    }
    expect(memoryStats().liveTensors).toBe(before);
  });

  it('frees the memory writes into closed-over tensors were computed in, once written back (an optimizer step)', () => {
    // Not left to the garbage collector: it does not see memory it does not hold (the cpu's wasm arena).
    const [param, momentum] = [randn([64, 64]), randn([64, 64])];
    const step = compile((g: Tensor) =>
      tidy(() => {
        momentum.mul_(0.9).add_(g.mul(0.1));
        param.sub_(momentum.mul(0.01));
        return param.sum();
      }),
    );
    const g = randn([64, 64]);
    step(g).dispose();
    step(g).dispose();
    const bytes = memoryStats().bytes.cpu;
    for (let i = 0; i < 10; i++) step(g).dispose();
    expect(memoryStats().bytes.cpu).toBe(bytes);
  });

  it('frees what a traced function disposed itself, and keeps what it returns from its own tidy', async () => {
    const fast = compile(
      (x: Tensor) =>
        tidy(() => {
          const t = tensor([1, 2, 3]);
          const y = x.add(t);
          t.dispose();
          return y.mul(2);
        }),
      { backend: new CompileCounter() },
    );
    for (let i = 0; i < 2; i++) expect(await values(fast(tensor([1, 1, 1])))).toEqual([4, 6, 8]);
  });

  it('keeps concurrent async calls apart', async () => {
    const cnt = new CompileCounter();
    const fast = compile(
      async (x: Tensor, k: number) => {
        const s = await x.sum().item();
        await new Promise((r) => setTimeout(r, k));
        return x.mul(s);
      },
      { backend: cnt },
    );
    const [a, b] = [tensor([1, 2]), tensor([3, 4])];
    const [ra, rb] = await Promise.all([fast(a, 5), fast(b, 5)]);
    expect(await values(ra)).toEqual([3, 6]);
    expect(await values(rb)).toEqual([21, 28]);
    // Ops after the awaits were captured, each call's in its own graph (the read value is a constant in it).
    expect(cnt.graphs.flatMap((g) => g.nodes.filter((n) => n.op === 'call').map((n) => n.op === 'call' && n.target))).toEqual([
      'sum',
      'mul',
      'mul',
    ]);
    expect(fast.stats.entries).toBe(1);
    await fast(a, 0); // a new entry (k is guarded by value), but the same graphs
    expect(fast.stats.entries).toBe(2);
    expect(cnt.frameCount).toBe(3);
  });

  it('runs eager code between awaits of a compiled call eagerly, outside its graphs', async () => {
    const cnt = new CompileCounter();
    const fast = compile(
      async (x: Tensor) => {
        await Promise.resolve();
        return x.add(1);
      },
      { backend: cnt },
    );
    const p = fast(tensor([1]));
    const outside = tensor([5]).mul(2); // runs while the call is in flight
    expect(outside.constructor.name).toBe('Tensor');
    expect(await values(outside)).toEqual([10]);
    expect(await values(await p)).toEqual([2]);
  });

  it('throws a fullgraph error for a read in a synchronous function, without an unhandled rejection', () => {
    const fast = compile((x: Tensor) => x.sum().item(), { fullgraph: true, backend: 'eager' });
    expect(() => fast(tensor([1]))).toThrow(/\.item\(\) reads the data/);
  });
});
