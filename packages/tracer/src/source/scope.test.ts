import type * as acorn from 'acorn';
import { parse } from 'acorn';
import { describe, expect, it } from 'vitest';
import { analyzeScopes, freeVariables, isFunctionNode } from './scope';

/** The free variables of the function named `target` (a declaration, or `const target = ...`) in `code`. */
function free(code: string): Record<string, unknown> {
  const program = parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  const a = analyzeScopes(program);
  let fn: acorn.AnyNode | undefined;
  const find = (n: acorn.AnyNode) => {
    if (fn) return;
    if (n.type === 'FunctionDeclaration' && n.id?.name === 'target') fn = n;
    else if (n.type === 'VariableDeclarator' && n.id.type === 'Identifier' && n.id.name === 'target' && n.init && isFunctionNode(n.init))
      fn = n.init;
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) v.forEach((x) => x && typeof x.type === 'string' && find(x));
      else if (v && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string') find(v as acorn.AnyNode);
    }
  };
  find(program);
  if (!fn) throw new Error('no target');
  return Object.fromEntries(freeVariables(a, fn).map((v) => [v.name, v.binding ? v.binding.kind : 'global']));
}

const names = (code: string) => Object.keys(free(code)).sort();

describe('free variables: scoping rules', () => {
  it('parameters, including defaults that read outer names', () => {
    expect(names('const w = 1, d = 2; function target(x, y = d) { return x + y + w; }')).toEqual(['d', 'w']);
  });

  it('destructuring parameters and declarations bind every name in the pattern (rest, nested, defaults)', () => {
    expect(
      names(`
      const k = 'a', dflt = 0, outer = 1;
      const target = ({ a, b: [c, ...rest], [k]: e = dflt, ...others }) => {
        const { p, q: { r } } = a; let [s, , t = outer] = rest;
        return a + c + e + others + p + r + s + t;
      };`),
    ).toEqual(['dflt', 'k', 'outer']);
  });

  it('let and const are block-scoped: a name used outside the block is the outer one', () => {
    expect(
      free(`
      let x = 1; const y = 2;
      function target() { { let x = 3; const y = 4; x + y; } return x + y; }`),
    ).toEqual({ x: 'let', y: 'const' });
  });

  it('var is function-scoped and hoisted: a use before the declaration, or outside its block, is local', () => {
    expect(
      names(`
      const v = 1, u = 2;
      function target() { use(v); if (true) { var v = 3; } for (var u = 0; u < 2; u++) {} return u; }`),
    ).toEqual(['use']);
  });

  it('function declarations are hoisted in their scope; a nested function reads through to the outer scope', () => {
    expect(
      names(`
      const w = 1, h = 2;
      function target(x) { return inner(x); function inner(y) { return y * w + helper(h); } }`),
    ).toEqual(['h', 'helper', 'w']);
  });

  it('function declarations inside blocks are block-scoped (modules are strict)', () => {
    expect(
      names(`
      function g() { return 0; }
      function target() { { function g() { return 1; } } return g(); }`),
    ).toEqual(['g']);
  });

  it('class declarations are block-scoped; a class expression name is visible only inside it', () => {
    expect(
      free(`
      class Base {} const Self = 0;
      function target() { class A extends Base { m() { return A; } } const B = class Self { n() { return Self; } }; return [A, B, Self]; }`),
    ).toEqual({ Base: 'class', Self: 'const' });
  });

  it('catch parameters (plain and destructured) are local to the catch block', () => {
    expect(
      names(`
      const err = 1, message = 2;
      function target() { try { f(); } catch (err) { err; } try {} catch ({ message }) { message; } return err + message; }`),
    ).toEqual(['err', 'f', 'message']);
  });

  it('shadowing: an inner declaration hides the outer name only where it is in scope', () => {
    expect(
      names(`
      const a = 1, b = 2, c = 3;
      function target(a) { const f = (b) => a + b + c; { const c = 0; return f(c); } }`),
    ).toEqual(['c']);
  });

  it("a function expression's own name and `arguments` belong to the function; an arrow's `arguments` does not", () => {
    expect(
      names(`
      const fact = 1;
      const target = function fact(n) { return n <= 1 ? arguments.length : n * fact(n - 1); };`),
    ).toEqual([]);
    expect(names('const target = () => arguments[0];')).toEqual(['arguments']);
  });

  it('loop heads: for-let, for-of and for-in bindings are local; an assigned target is not', () => {
    expect(
      names(`
      const i = 0, k = 0, xs = [], acc = 0;
      function target(o) { for (let i = 0; i < 3; i++) {} for (const x of xs) x; for (const k in o) k; for (acc of xs) {} }`),
    ).toEqual(['acc', 'xs']);
  });

  it('switch cases share one block scope', () => {
    expect(
      names(`
      const z = 0;
      function target(s) { switch (s) { case 1: let z = 1; return z; default: return z; } }`),
    ).toEqual([]);
  });

  it('imports resolve to import bindings; unresolved names are globals', () => {
    expect(
      free(`
      import { F } from '@kiln/eager'; import * as ns from './x.js'; import dflt from './y.js';
      function target(x) { return F.relu(ns.y(dflt(x))).add(someGlobal); }`),
    ).toEqual({ F: 'import', ns: 'import', dflt: 'import', someGlobal: 'global' });
  });

  it('property keys, member names, labels and method names are not variables', () => {
    expect(
      names(`
      const a = 1, b = 2, lbl = 3, m = 4;
      function target(o) { lbl: for (;;) { break lbl; } return { a: o.b, [b]: 1, m() {} }; }`),
    ).toEqual(['b']);
  });

  it('records the fields read off a free variable, or that it is used whole', () => {
    const program = parse(
      `
      const cfg = {}, w = null, opts = {};
      function target(x) { return x.mul(cfg.scale).add(cfg.model.eps).matmul(w).add(cfg.model.eps).mul(opts[x.k]); }`,
      { ecmaVersion: 'latest', sourceType: 'module' },
    );
    const fn = program.body.find((s): s is acorn.FunctionDeclaration => s.type === 'FunctionDeclaration')!;
    const vars = Object.fromEntries(freeVariables(analyzeScopes(program), fn).map((v) => [v.name, v.fields]));
    expect(vars).toEqual({ cfg: [['scale'], ['model', 'eps']], w: null, opts: null });
  });

  it('notes a free variable the function assigns', () => {
    const program = parse('let count = 0; function target() { count++; }', { ecmaVersion: 'latest', sourceType: 'module' });
    const fn = program.body[1] as acorn.FunctionDeclaration;
    const [v] = freeVariables(analyzeScopes(program), fn);
    expect(v).toMatchObject({ name: 'count', written: true, fields: null });
  });

  it("knows which function a scope's `this` comes from: arrows see through to the function around them", () => {
    const program = parse('function outer() { const f = () => { return (function () {})(); }; }', { ecmaVersion: 'latest' });
    const a = analyzeScopes(program);
    const outer = program.body[0] as acorn.FunctionDeclaration;
    const arrow = (outer.body.body[0] as acorn.VariableDeclaration).declarations[0]!.init as acorn.ArrowFunctionExpression;
    const inner = ((arrow.body as acorn.BlockStatement).body[0] as acorn.ReturnStatement).argument as acorn.CallExpression;
    expect(a.scopeOf(arrow)!.thisScope).toBe(a.scopeOf(outer));
    expect(a.scopeOf(inner.callee)!.thisScope).toBe(a.scopeOf(inner.callee));
    expect(a.root.thisScope).toBe(a.root);
  });
});
