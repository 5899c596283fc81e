/**
 * Class-based models: instances of the user's classes passed as a module,
 * an argument or a closure variable are guarded by their fields (tensors
 * like tensor inputs, read fresh), and the methods the code calls on them
 * are analyzed, so that such a model replays. The closure records below are
 * written as the load-time transform writes them.
 */
import { F, nn, randn, Tensor, tensor } from '@kiln/eager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompileCounter, compile } from '../index';

const values = (t: unknown) => (t as Tensor).toArray();

afterEach(() => vi.restoreAllMocks());

class Linear {
  weight: Tensor;
  bias: Tensor;
  constructor(inputs: number, outputs: number) {
    this.weight = randn([outputs, inputs]);
    this.bias = randn([outputs]);
  }
  forward(x: Tensor): Tensor {
    return x.matmul(this.weight.transpose(0, 1)).add(this.bias);
  }
}

class MLP {
  fc1 = new Linear(4, 8);
  fc2 = new Linear(8, 4);
  scale = 2;
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.act(this.fc1.forward(x))).mul(this.scale);
  }
  act(h: Tensor): Tensor {
    return h.relu();
  }
}

describe('a class instance passed as an argument', () => {
  it('is guarded by its class and fields, its methods are analyzed, and the function replays', async () => {
    const cnt = new CompileCounter();
    const fast = compile((m: MLP, x: Tensor) => m.forward(x), { backend: cnt });
    const m = new MLP();
    const x = randn([3, 4]);
    expect(await values(fast(m, x))).toEqual(await values(m.forward(x)));
    const report = fast.explain();
    expect(report.mode).toBe('replay');
    expect(report.guards).toEqual(
      expect.arrayContaining([
        'm is a MLP with keys [fc1, fc2, scale]',
        'm.fc1 is a Linear with keys [weight, bias]',
        'm.fc1.weight.shape[0] == 8',
        'm.scale == 2',
      ]),
    );
    expect(report.guards.some((g) => /^m\.forward is <function forward #\d+>$/.test(g))).toBe(true);

    // A hit runs the graph, not the methods; a weight swapped for another of its kind is used without a recompile.
    m.fc1.weight = randn([8, 4]);
    const want = await values(m.forward(x));
    const matmul = vi.spyOn(Tensor.prototype, 'matmul');
    expect(await values(fast(m, x))).toEqual(want);
    expect(matmul).not.toHaveBeenCalled();
    expect(cnt.frameCount).toBe(1);

    // Another instance of the class is another input of the same kind.
    const other = new MLP();
    expect(await values(fast(other, x))).toEqual(await values(other.forward(x)));
    expect(fast.stats).toMatchObject({ recompiles: [], cacheHits: 2 });

    // A field it reads changes: a recompile naming it.
    other.scale = 3;
    expect(await values(fast(other, x))).toEqual(await values(other.forward(x)));
    expect(fast.stats.recompiles[0]!.reason).toBe('m.scale == 2 failed: expected 2, got 3');
  });

  it('re-runs when a method has a side effect, and says which method and why', () => {
    class Counting {
      calls = 0;
      forward(x: Tensor): Tensor {
        this.calls++;
        return x.neg();
      }
    }
    const m = new Counting();
    const fast = compile((c: Counting, x: Tensor) => c.forward(x), { backend: 'eager' });
    fast(m, tensor([1]));
    fast(m, tensor([1]));
    expect(m.calls).toBe(2);
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.explain().modeReason).toMatch(/calls c\.forward\(\), which has a side effect at line \d: assigns a member of `this`/);
  });

  it('sees a method swapped on the class (guarded by identity)', async () => {
    class Scale {
      k = 2;
      forward(x: Tensor): Tensor {
        return x.mul(this.k);
      }
    }
    const fast = compile((s: Scale, x: Tensor) => s.forward(x), { backend: 'eager' });
    const s = new Scale();
    expect(await values(fast(s, tensor([1])))).toEqual([2]);
    const original = Scale.prototype.forward;
    Scale.prototype.forward = function (this: Scale, x: Tensor) {
      return x.mul(this.k).add(1);
    };
    try {
      expect(await values(fast(s, tensor([1])))).toEqual([3]);
      expect(fast.stats.recompiles[0]!.reason).toMatch(/^s\.forward is <function forward #\d+> failed/);
    } finally {
      Scale.prototype.forward = original;
    }
  });

  it('does not look into objects whose state guards cannot see: private members, built-in classes', () => {
    class Secret {
      #w = tensor([2]);
      forward(x: Tensor): Tensor {
        return x.mul(this.#w);
      }
    }
    const fast = compile((s: Secret, x: Tensor) => s.forward(x), { backend: 'eager' });
    fast(new Secret(), tensor([1]));
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.explain().modeReason).toContain('input s is a Secret, whose class has private members, which guards cannot look into');
    const withMap = compile((m: Map<string, Tensor>, x: Tensor) => x.mul(m.get('w')!), { backend: 'eager' });
    withMap(new Map([['w', tensor([2])]]), tensor([1]));
    expect(withMap.explain().modeReason).toContain('input m is a Map, which guards cannot look into');
  });
});

describe('a class instance compiled as a module', () => {
  it('replays through its child modules and its own methods (no free variable read)', async () => {
    const cnt = new CompileCounter();
    const model = new MLP();
    const fast = compile(model, { backend: cnt });
    const x = randn([2, 4]);
    expect(await values(fast(x))).toEqual(await values(model.forward(x)));
    const report = fast.explain();
    expect(report.mode).toBe('replay');
    expect(report.guards.some((g) => /^model\.act is <function act #\d+>$/.test(g))).toBe(true);
    expect(report.guards.some((g) => /^model\.fc1\.forward is <function forward #\d+>$/.test(g))).toBe(true);
    model.fc2.bias = randn([4]);
    expect(await values(fast(x))).toEqual(await values(model.forward(x)));
    expect(cnt.frameCount).toBe(1);
  });

  it('reads what its methods read from the closure through the class the transform passed', async () => {
    class Gelu {
      w = randn([4, 4]);
      forward(x: Tensor): Tensor {
        return F.gelu(x.matmul(this.w)).mul(SCALE);
      }
    }
    const SCALE = 2;
    const model = new Gelu();
    // What the transform writes for `compile(model)` in a module declaring Gelu and SCALE, importing F from @kiln/eager.
    const closure = { names: ['Gelu', 'SCALE'], get: () => [Gelu, SCALE], kiln: ['F'], globals: [], classes: { Gelu: ['F', 'SCALE'] } };
    const fast = compile(model, { backend: 'eager', closure });
    const x = randn([2, 4]);
    expect(await values(fast(x))).toEqual(await values(model.forward(x)));
    expect(fast.explain().mode).toBe('replay');
    expect(fast.explain().guards).toContain('SCALE == 2');

    // The same class, but the record does not list SCALE for it: that read is not guarded, so it re-runs.
    const partial = { ...closure, classes: { Gelu: ['F'] } };
    const rerun = compile(new Gelu(), { backend: 'eager', closure: partial });
    rerun(x);
    expect(rerun.explain().mode).toBe('re-run');
    expect(rerun.explain().modeReason).toContain(
      'free variables (not guarded: the load-time transform did not pass them for its class): SCALE',
    );
  });

  it("does not lend its class's names to a function stored on the instance, which may have been written anywhere", () => {
    class WithAct {
      act = F.gelu; // kiln's own: fine
      scale = (t: Tensor) => t.mul(SCALE); // reads SCALE, but as a field it could come from any module
      forward(x: Tensor): Tensor {
        return this.scale(this.act(x));
      }
    }
    const SCALE = 2;
    const closure = {
      names: ['WithAct', 'SCALE'],
      get: () => [WithAct, SCALE],
      kiln: ['F'],
      globals: [],
      classes: { WithAct: ['F', 'SCALE'] },
    };
    const fast = compile(new WithAct(), { backend: 'eager', closure });
    fast(tensor([1]));
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.explain().modeReason).toContain(
      'calls this.scale(), which reads `SCALE` (not guarded: a function stored on an object may have been written anywhere)',
    );
  });

  it('without the transform, a method that reads a free variable makes it re-run, naming the variable', () => {
    class Act {
      forward(x: Tensor): Tensor {
        return F.relu(x);
      }
    }
    const fast = compile(new Act(), { backend: 'eager' });
    fast(tensor([1]));
    expect(fast.explain().mode).toBe('re-run');
    expect(fast.explain().modeReason).toBe('free variables (not guarded without the load-time transform): F');
  });
});

describe("kiln's nn modules", () => {
  it('are library code: a model of nn layers replays, without the transform', async () => {
    class Net extends nn.Module {
      fc1 = new nn.Linear(4, 8);
      norm = new nn.LayerNorm(8);
      drop = new nn.Dropout(0.1);
      forward(x: Tensor): Tensor {
        return this.drop.forward(this.norm.forward(this.fc1.forward(x).relu()));
      }
    }
    const net = new Net().eval();
    const fast = compile(net, { backend: 'eager' });
    const x = randn([2, 4]);
    expect(await values(fast(x))).toEqual(await values(net.forward(x)));
    const report = fast.explain();
    expect(report.mode).toBe('replay');
    expect(report.modeReason).toContain('methods analyzed: model.drop.forward, model.norm.forward, model.fc1.forward');
    expect(report.guards).toEqual(expect.arrayContaining(['model.drop.training == false', 'model.fc1.weight.shape[0] == 8']));
    net.train(); // dropout's mode is a field it reads: a recompile, not a stale graph
    fast(x);
    expect(fast.stats.recompiles[0]!.reason).toBe('model.training == false failed: expected false, got true');
  });
});

describe('a class instance in the closure', () => {
  it('is guarded whole when a method is called on it, and replays', async () => {
    const model = new MLP();
    const fast = compile((x: Tensor) => model.forward(x), {
      backend: 'eager',
      closure: {
        names: ['model', 'MLP', 'Linear'],
        get: () => [model, MLP, Linear],
        kiln: [],
        globals: [],
        classes: { MLP: [], Linear: [] },
      },
    });
    const x = randn([2, 4]);
    expect(await values(fast(x))).toEqual(await values(model.forward(x)));
    const report = fast.explain();
    expect(report.mode).toBe('replay');
    expect(report.guards).toEqual(expect.arrayContaining(['model is a MLP with keys [fc1, fc2, scale]', 'model.fc2.bias.shape[0] == 4']));
    model.fc1.weight = randn([8, 4]);
    expect(await values(fast(x))).toEqual(await values(model.forward(x)));
    expect(fast.stats.recompiles).toEqual([]);
  });
});
