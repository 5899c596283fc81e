import type { Tensor } from '@kiln/eager';
import { randn, tensor, tidy } from '@kiln/eager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompileCounter, compile } from './index';

const values = (t: Tensor) => t.toArray();

afterEach(() => {
  vi.restoreAllMocks();
});

describe('side effects happen on every call', () => {
  it('pushes to an outer array and logs each time, and the pushed tensors stay valid', async () => {
    const saved: Tensor[] = [];
    const steps: number[] = [];
    const logged = vi.spyOn(console, 'log').mockImplementation(() => {});
    const fn = (x: Tensor) => {
      const y = x.mul(2);
      saved.push(y);
      steps.push(saved.length);
      console.log('step', saved.length);
      return y.add(1);
    };
    const cnt = new CompileCounter();
    const fast = compile(fn, { backend: cnt });
    const xs = [tensor([1, 2]), tensor([3, 4]), tensor([5, 6])];
    for (const x of xs) expect(await values(fast(x))).toEqual(await values(x.mul(2).add(1)));
    expect(steps).toEqual([1, 2, 3]);
    expect(logged).toHaveBeenCalledTimes(3);
    expect(logged).toHaveBeenLastCalledWith('step', 3);
    expect(cnt.frameCount).toBe(1);
    // Read after the calls, even after the inputs are gone.
    for (const x of xs) x.dispose();
    expect(await Promise.all(saved.map(values))).toEqual([
      [2, 4],
      [6, 8],
      [10, 12],
    ]);
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.explain().modeReason).toContain('saved.push(...) changes `saved`');
  });

  it('keeps tensors stored before the function threw valid', async () => {
    const saved: Tensor[] = [];
    const fast = compile(
      (x: Tensor) => {
        saved.push(x.mul(2));
        if (saved.length > 0) throw x.add(1);
        return x;
      },
      { backend: 'eager' },
    );
    let thrown: unknown = null;
    try {
      fast(tensor([1, 2]));
    } catch (e) {
      thrown = e;
    }
    expect(await values(saved[0]!)).toEqual([2, 4]);
    expect(await values(thrown as Tensor)).toEqual([2, 3]);
    expect(fast.stats.entries).toBe(0);
  });

  it('counts through an outer variable on every call', () => {
    let count = 0;
    const fast = compile(
      (x: Tensor) => {
        count += 1;
        return x.neg();
      },
      { backend: 'eager' },
    );
    for (let i = 0; i < 4; i++) fast(tensor([i]));
    expect(count).toBe(4);
  });

  it('returns a tensor made by an earlier call (a tensor that escaped)', async () => {
    let previous: Tensor | null = null;
    const fast = compile(
      (x: Tensor) => {
        const out = previous ?? x;
        previous = x.mul(10);
        return out.add(1);
      },
      { backend: 'eager' },
    );
    expect(await values(fast(tensor([1])))).toEqual([2]);
    expect(await values(fast(tensor([2])))).toEqual([11]);
    expect(await values(fast(tensor([3])))).toEqual([21]);
    expect(await values(previous!)).toEqual([30]);
  });

  it('keeps a tensor captured by a returned closure valid', async () => {
    const fast = compile(
      (x: Tensor) => {
        const y = x.exp();
        return () => y.add(1);
      },
      { backend: 'eager' },
    );
    const x = tensor([0, 1]);
    const get = fast(x);
    x.add_(5);
    expect(await values(get())).toEqual(await values(tensor([0, 1]).exp().add(1)));
  });

  it('keeps outputs alive when a tidy scope returns them', async () => {
    const fast = compile(
      (x: Tensor) => {
        console.info('called');
        return x.mul(3);
      },
      { backend: 'eager' },
    );
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const out = tidy(() => fast(tensor([1, 2])));
    expect(await values(out)).toEqual([3, 6]);
  });
});

describe('closures read the current value of what they close over', () => {
  it('sees a rebound weight tensor on the next call', async () => {
    let w = randn([3, 2]);
    const fast = compile((x: Tensor) => x.matmul(w).relu(), { backend: new CompileCounter() });
    const x = randn([4, 3]);
    expect(await values(fast(x))).toEqual(await values(x.matmul(w).relu()));
    w = randn([3, 2]);
    expect(await values(fast(x))).toEqual(await values(x.matmul(w).relu()));
    expect(fast.explain().modeReason).toContain('free variables');
  });

  it('sees a rebound number on the next call', async () => {
    let scale = 2;
    const cnt = new CompileCounter();
    const fast = compile((x: Tensor) => x.mul(scale), { backend: cnt });
    expect(await values(fast(tensor([1, 2])))).toEqual([2, 4]);
    scale = 5;
    expect(await values(fast(tensor([1, 2])))).toEqual([5, 10]);
    expect(cnt.frameCount).toBe(2); // a different constant is a different graph
    scale = 2;
    fast(tensor([1, 2]));
    expect(cnt.frameCount).toBe(2);
  });

  it('sees a weight updated in place by an optimizer step outside', async () => {
    const w = tensor([1, 1]);
    const fast = compile((x: Tensor) => x.mul(w), { backend: 'eager' });
    expect(await values(fast(tensor([2, 3])))).toEqual([2, 3]);
    w.mul_(0.5);
    expect(await values(fast(tensor([2, 3])))).toEqual([1, 1.5]);
  });
});
