/**
 * Guards never run the user's code: a getter, a Proxy trap, a valueOf runs
 * as often under `compile` as in the uncompiled function — on every call,
 * never more (guards reading it) and never less (a replay skipping it).
 */
import { Tensor, tensor } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import type { CompileOptions } from '../index';
import { compile } from '../index';

type Fn = (...args: never[]) => unknown;

/** What one run needs: the function, its arguments per call, and how many times user code ran so far. */
interface Case {
  fn: Fn;
  args: () => unknown[];
  runs: () => number;
  options?: CompileOptions;
}

const call = (f: unknown, args: unknown[]) => (f as (...a: unknown[]) => unknown)(...args);
const read = async (v: unknown): Promise<unknown> => (v instanceof Tensor ? v.toArray() : v);

/** Three calls of `make()`'s function, uncompiled and compiled (each with fresh state): the same results, and user code ran once per call in both. */
async function sameAsUncompiled(make: () => Case): Promise<{ compiled: Case; fast: ReturnType<typeof compile> }> {
  const plain = make();
  const expected: unknown[] = [];
  for (let i = 0; i < 3; i++) expected.push(await read(call(plain.fn, plain.args())));
  const compiled = make();
  const fast = compile(compiled.fn, { backend: 'eager', ...compiled.options });
  const actual: unknown[] = [];
  for (let i = 0; i < 3; i++) actual.push(await read(call(fast, compiled.args())));
  expect(actual).toEqual(expected);
  expect(compiled.runs()).toBe(plain.runs());
  expect(compiled.runs()).toBe(3);
  return { compiled, fast };
}

describe("guards never run the user's code", () => {
  it('a getter on an argument object runs once per call, and the entry re-runs, saying why', async () => {
    const { fast } = await sameAsUncompiled(() => {
      let n = 0;
      const opts = {
        get scale() {
          return ++n;
        },
      };
      return { fn: (x: Tensor, o: { scale: number }) => x.mul(o.scale), args: () => [tensor([1, 2]), opts], runs: () => n };
    });
    const report = fast.explain();
    expect(report.mode).toBe('re-run');
    expect(report.modeReason).toContain('input o.scale is a getter, which guards cannot look into');
    expect(report.guards).toContain('o.scale is a getter');
  });

  it('a getter at an array index runs once per call', async () => {
    await sameAsUncompiled(() => {
      let n = 0;
      const a = [0, 5];
      Object.defineProperty(a, 0, { get: () => ++n, enumerable: true });
      return { fn: (x: Tensor, arr: number[]) => x.add(arr[0]!).add(arr[1]!), args: () => [tensor([1]), a], runs: () => n };
    });
  });

  it('a non-enumerable getter is seen too', async () => {
    await sameAsUncompiled(() => {
      let n = 0;
      const o = { shift: 1 };
      Object.defineProperty(o, 'scale', { get: () => ++n, enumerable: false });
      return { fn: (x: Tensor, p: { scale: number }) => x.mul(p.scale), args: () => [tensor([1]), o], runs: () => n };
    });
  });

  it("a Proxy argument's traps run as often as the function runs them", async () => {
    const { fast } = await sameAsUncompiled(() => {
      let traps = 0;
      const handler: ProxyHandler<{ s: number }> = {
        get: (t, k) => {
          traps++;
          return Reflect.get(t, k);
        },
        getPrototypeOf: (t) => {
          traps++;
          return Reflect.getPrototypeOf(t);
        },
        ownKeys: (t) => {
          traps++;
          return Reflect.ownKeys(t);
        },
        getOwnPropertyDescriptor: (t, k) => {
          traps++;
          return Reflect.getOwnPropertyDescriptor(t, k);
        },
      };
      const p = new Proxy({ s: 2 }, handler);
      return { fn: (x: Tensor, o: { s: number }) => x.mul(o.s), args: () => [tensor([1]), p], runs: () => traps };
    });
    expect(fast.explain().modeReason).toContain('input o is a Proxy');
  });

  it('a Proxy where a tensor was expected is not asked whether it is one', async () => {
    let traps = 0;
    const fast = compile((x: Tensor) => x, { backend: 'eager' });
    fast(tensor([1]));
    const p = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          traps++;
          return Object.prototype;
        },
        get: () => {
          traps++;
          return undefined;
        },
      },
    );
    expect(fast(p as unknown as Tensor)).toBe(p); // a recompile for a non-tensor argument, whose failure text asks nothing either
    expect(traps).toBe(0);
    expect(fast.stats.recompiles[0]!.reason).toMatch(/^x is a Tensor failed: expected a Tensor, got a Proxy #\d+$/);
  });

  it("a module's own getter and its class's getter run once per call (not skipped by a replay)", async () => {
    let n = 0;
    const own = {
      get scale() {
        n++;
        return 2;
      },
      forward(x: Tensor) {
        return x.mul(this.scale);
      },
    };
    class Scaled {
      k = 2;
      get scale() {
        n++;
        return this.k;
      }
      forward(x: Tensor) {
        return x.mul(this.scale);
      }
    }
    for (const m of [own, new Scaled()]) {
      n = 0;
      const fast = compile(m, { backend: 'eager' });
      for (let i = 0; i < 3; i++) expect(await fast(tensor([1])).toArray()).toEqual([2]);
      expect(n).toBe(3);
      expect(fast.explain().mode).toBe('re-run');
    }
    const fast = compile(new Scaled(), { backend: 'eager' });
    fast(tensor([1]));
    expect(fast.explain().modeReason).toContain('input model is an object whose class has the getter `scale`');
  });

  it('a module whose forward is a getter reads it once per call, as model.forward(x) does', async () => {
    let reads = 0;
    const impl = (x: Tensor) => x.mul(2);
    const m = {
      get forward() {
        reads++;
        return impl;
      },
    };
    const fast = compile(m, { backend: 'eager' });
    reads = 0;
    for (let i = 0; i < 3; i++) expect(await fast(tensor([1])).toArray()).toEqual([2]);
    expect(reads).toBe(3);
  });

  it('a getter on a closed-over object (closure guards) runs once per call, and so does a class getter there', async () => {
    await sameAsUncompiled(() => {
      let n = 0;
      const cfg = {
        get scale() {
          return ++n;
        },
      };
      return {
        fn: (x: Tensor) => x.mul(cfg.scale),
        args: () => [tensor([1])],
        runs: () => n,
        options: { closure: { names: ['cfg'], get: () => [cfg] } },
      };
    });
    let n = 0;
    class Config {
      get eps() {
        n++;
        return 0.5;
      }
    }
    const cfg = new Config();
    const fast = compile((x: Tensor) => x.add(cfg.eps), { backend: 'eager', closure: { names: ['cfg'], get: () => [cfg] } });
    for (let i = 0; i < 3; i++) expect(await fast(tensor([1])).toArray()).toEqual([1.5]);
    expect(n).toBe(3);
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.explain().modeReason).toContain('input cfg.eps is a getter');
  });

  it('a result with a getter is returned as it is, its getter not run', async () => {
    let n = 0;
    const fast = compile(
      (x: Tensor) => {
        const y = x.mul(2);
        return {
          get y() {
            n++;
            return y;
          },
        };
      },
      { backend: 'eager' },
    );
    for (let i = 0; i < 3; i++) {
      const r = fast(tensor([1]));
      expect(n).toBe(i);
      expect(Object.getOwnPropertyDescriptor(r, 'y')!.get).toBeTypeOf('function');
      expect(await r.y.toArray()).toEqual([2]);
    }
    expect(n).toBe(3);
  });

  it('an argument with valueOf, toString and Symbol.toPrimitive is never coerced, even to explain a recompile', () => {
    let coerced = 0;
    const make = (k: number) => ({
      k,
      valueOf() {
        coerced++;
        return k;
      },
      toString() {
        coerced++;
        return String(k);
      },
      [Symbol.toPrimitive]() {
        coerced++;
        return k;
      },
    });
    const fast = compile((x: Tensor, o: { k: number }) => x.mul(o.k), { backend: 'eager' });
    fast(tensor([1]), make(1));
    fast(tensor([1]), make(2));
    fast(tensor([1]), { k: 3 } as ReturnType<typeof make>);
    expect(coerced).toBe(0);
    expect(fast.stats.recompiles.map((r) => r.guard)).toEqual(['o.k == 1', 'o has keys [k, valueOf, toString]']);
  });
});
