import { describe, expect, it } from 'vitest';
import { analyzeFunction, analyzeSource } from './analysis';

const a = (src: string) => analyzeSource(src);

describe('source analysis', () => {
  it('reads arrows, functions, async functions, methods and class methods', () => {
    expect(a('(x, y) => x.add(y)').params.map((p) => p.name)).toEqual(['x', 'y']);
    expect(a('function f(x, { k }, ...rest) { return x; }').params).toEqual([
      { name: 'x', rest: false },
      { name: null, rest: false },
      { name: 'rest', rest: true },
    ]);
    expect(a('async (x) => { return await x.item(); }').isAsync).toBe(true);
    expect(a('forward(x) { return x.matmul(this.w); }')).toMatchObject({ opaque: null, usesThis: true, freeVariables: [] });
    expect(a('async forward(x) { return x; }')).toMatchObject({ opaque: null, isAsync: true });
    expect(a('*gen(x) { yield x; }')).toMatchObject({ opaque: null, isGenerator: true });
    class C {
      m(x: number) {
        return x + 1;
      }
    }
    expect(analyzeFunction(C.prototype.m as never)).toMatchObject({ opaque: null, freeVariables: [] });
  });

  it('treats native, bound and unparsable functions as opaque, without throwing', () => {
    expect(analyzeFunction(Math.max as never).opaque).toMatch(/native or bound/);
    expect(analyzeFunction(((x: number) => x).bind(null) as never).opaque).toMatch(/native or bound/);
    expect(a('this is not javascript (').opaque).toMatch(/could not be parsed/);
    expect(a('(x) => eval("x")').opaque).toMatch(/eval/);
    expect(a('function f(o) { with (o) { return a; } }').opaque).toBeTruthy();
  });

  it('finds free variables, but not globals, locals, parameters or property names', () => {
    const info = a(`(x, opts) => {
      const k = opts.scale * Math.PI;
      let acc = x;
      for (const w of weights) acc = acc.matmul(w).add(bias);
      function helper(t) { return t.mul(k); }
      try { JSON.stringify({ a: 1 }); } catch (e) { return e; }
      return helper(acc).mul(Number.EPSILON).mul(undefinedName);
    }`);
    expect([...info.freeVariables].sort()).toEqual(['bias', 'undefinedName', 'weights']);
  });

  it('names imported bindings by the names the code uses', () => {
    expect(a('(x) => __vi_import_0__.F.gelu(x)').freeVariables).toEqual(['F']);
  });

  it('counts backward() as a side effect: it adds into the .grad of leaves anywhere', () => {
    const info = a('(x, w) => { const loss = x.mul(w).sum(); loss.backward(); return loss; }');
    expect(info.sideEffects).toMatchObject([{ kind: 'mutation', line: 1 }]);
    expect(info.sideEffects[0]!.description).toContain('loss.backward() changes gradients outside the function');
    expect(info.mayEscape).toBe(true);
  });

  it('finds side effects: console, outer assignments, mutations, Math.random, Date, timers, unknown calls', () => {
    const info = a(`(x, log) => {
      console.log(x);
      count += 1;
      log.push(x);
      this.last = x;
      const local = [];
      local.push(x);
      const r = Math.random() + Date.now();
      setTimeout(() => {}, 1);
      save(x);
      return x;
    }`);
    expect(info.sideEffects.map((s) => s.kind)).toEqual([
      'console',
      'assignment',
      'mutation',
      'assignment',
      'nondeterminism',
      'nondeterminism',
      'timer',
      'call',
    ]);
    expect(info.sideEffects.map((s) => s.description)).toContain('uses Date');
    expect(info.sideEffects[2]).toMatchObject({ line: 4, description: 'log.push(...) changes `log`' });
    expect(info.mayEscape).toBe(true);
  });

  it('sees no side effect in pure tensor code, and no escape', () => {
    const info = a('(x, w) => { const h = x.matmul(w).relu(); const parts = []; parts.push(h.sum(1)); return parts.map((p) => p.exp()); }');
    expect(info.sideEffects).toEqual([]);
    expect(info.mayEscape).toBe(false);
    expect(a('(x) => F.softmax(x, -1)').mayEscape).toBe(false);
  });

  it("takes esbuild's __name(fn, name) wrappers (tsx, Vite) as harmless, not as unknown calls", () => {
    const info = analyzeSource('(x) => { const f = /* @__PURE__ */ __name((t) => t.exp(), "f"); return f(x).add(1); }');
    expect(info.freeVariables).toEqual([]);
    expect(info.sideEffects).toEqual([]);
  });

  it('lists break sites: data reads and in-place calls, with positions', () => {
    const info = a('async (x) => {\n  const v = await x.sum().item();\n  x.add_(v);\n  return x;\n}');
    expect(info.breakSites.map((s) => [s.line, s.text])).toEqual([
      [2, 'x.sum().item()'],
      [3, 'x.add_(v)'],
    ]);
  });

  it("knows that `this` in a nested function is not the function's own", () => {
    expect(a('(x) => x').usesThis).toBe(false);
    expect(a('function f(x) { return function () { return this; }; }').usesThis).toBe(false);
    expect(a('(x) => this.w').freeVariables).toEqual(['this']);
    expect(a('(x) => arguments[0]').freeVariables).toEqual(['arguments']);
    expect(a('function f(x) { return arguments.length; }').freeVariables).toEqual([]);
  });

  it("resolves names with the transform's scope rules: destructured locals hold outer values, block functions stay in their block", () => {
    // `a` is `out`, not an array the function made: pushing to it changes `out`.
    expect(a('(x) => { const [a] = [out]; a.push(x); }').sideEffects.map((s) => s.description)).toEqual(['a.push(...) changes `a`']);
    expect(a('(x) => { const b = []; b.push(x); return b; }').sideEffects).toEqual([]);
    expect(a('(x) => { { function g() {} } return g(x); }').freeVariables).toEqual(['g']);
    expect(a('(x) => { function g() { return 1; } return g(x); }')).toMatchObject({ freeVariables: [], sideEffects: [] });
  });

  it("reads `this` in class field initializers and static blocks as the enclosing function's", () => {
    expect(a('m(x) { class A { y = this.z; } return x; }').usesThis).toBe(true);
    expect(a('(x) => { class A { static { this.q = 1; } } return x; }').freeVariables).toEqual(['this']);
  });

  it('lists member calls from `this`, a parameter or a free variable, and takes verdicts on them', () => {
    const src = `forward(x, m) {
      this.fc1.forward(x);
      m.act(x);
      model.norm.forward(x);
      [1].map((v) => v);
      const g = function () { return this.other(x); };
      return x;
    }`;
    const info = a(src);
    expect(info.memberCalls.map((c) => [c.root, c.name, c.keys.join('.'), c.text])).toEqual([
      ['this', 'this', 'fc1.forward', 'this.fc1.forward'],
      ['param', 'm', 'act', 'm.act'],
      ['free', 'model', 'norm.forward', 'model.norm.forward'],
    ]);
    expect(info.sideEffects.map((e) => e.description)).toEqual(
      expect.arrayContaining(['calls this.fc1.forward(), whose code is not analyzed', 'calls m.act(), whose code is not analyzed']),
    );
    const verdicts = new Map([
      ['this.fc1.forward', null],
      ['m.act', 'has a side effect at line 2: console.log(...) prints'],
      ['model.norm.forward', null],
    ]);
    const known = analyzeSource(src, 'forward', new Set(), verdicts);
    expect(known.sideEffects.map((e) => e.description)).toEqual([
      'calls m.act(), which has a side effect at line 2: console.log(...) prints',
      'calls this.other(), whose code is not analyzed',
    ]);
  });

  it('takes tidy(fn) as calling fn', () => {
    expect(a('(x) => tidy(() => x.mul(2))').sideEffects).toEqual([]);
    expect(a('(x, f) => tidy(f)').sideEffects.map((e) => e.description)).toEqual(['calls f(), whose code is not analyzed']);
  });
});
