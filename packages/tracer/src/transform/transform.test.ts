import { SourceMap } from 'node:module';
import MagicString from 'magic-string';
import { describe, expect, it, vi } from 'vitest';
import { kilnPlugin } from '../vite';
import { load } from './node-hooks';
import type { SourceMapJSON } from './source-map';
import { inlineComment, readInlineMap } from './source-map';
import { transformKiln } from './transform';

const MODULE = `import { compile } from '@kiln/tracer';
import { F, randn } from '@kiln/eager';
import { cfg } from './config.js';

const w1 = randn([8, 8]);
let scale = 2;
function mlp(x) {
  return F.gelu(F.linear(x, w1)).mul(scale);
}
const block = (x) => mlp(x).add(cfg.bias);
export const fast = compile(block);
export const inline = compile((x, y) => x.matmul(w1).add(y).mul(Math.PI), { backend: 'eager' });
`;

describe('transformKiln', () => {
  it('passes the free variables of the compiled function, and of the helpers it reads, as a getter', () => {
    const out = transformKiln(MODULE, 'app.js')!;
    expect(out.calls.map((c) => c.names)).toEqual([['mlp', 'cfg', 'w1', 'scale'], ['w1']]);
    expect(out.calls[0]!.kiln).toEqual(['F']);
    expect(out.code).toContain(
      'compile(block, { closure: { names: ["mlp", "cfg", "w1", "scale"], get: () => [mlp, cfg, w1, scale], kiln: ["F"], globals: [] } })',
    );
    // options are kept, spread before the closure
    expect(out.code).toContain(`{ backend: 'eager' }, closure: { names: ["w1"], get: () => [w1], kiln: [], globals: [] } })`);
    expect(out.code).toContain("compile((x, y) => x.matmul(w1).add(y).mul(Math.PI), { ...{ backend: 'eager' }");
  });

  it('changes nothing but the compile calls', () => {
    const out = transformKiln(MODULE, 'app.js')!;
    const stripped = out.code
      .replace(/, \{ closure: \{ names: [^}]*\} \}\)/, ')')
      .replace(/\{ \.\.\.(\{ backend: 'eager' \}), closure: \{ names: [^}]*\} \}/, '$1');
    expect(stripped).toBe(MODULE);
  });

  it('returns null (the module is used byte for byte) without a kiln import or without a compile call', () => {
    const plain = "import { compile } from './my-compiler.js';\nexport const f = compile((x) => x + y);\n";
    expect(transformKiln(plain, 'a.js')).toBeNull();
    expect(transformKiln("import { explain } from '@kiln/tracer';\nexport const s = '@kiln/tracer';\n", 'b.js')).toBeNull();
  });

  it('touches only compile and explain imported from @kiln/tracer (renamed or through a namespace), not a local compile', () => {
    const code = `import { compile as kc, explain } from '@kiln/tracer';
import * as kiln from '@kiln/tracer';
const w = 1;
function compile(f) { return f; }
export const a = kc((x) => x.mul(w));
export const b = kiln.compile((x) => x.mul(w));
export const c = compile((x) => x.mul(w));
export const d = explain((x) => x.mul(w));
export const e = ((kc) => kc((x) => x.mul(w)))(compile);
`;
    const out = transformKiln(code, 'c.js')!;
    expect(out.calls.map((c) => c.line)).toEqual([5, 6, 8]);
    expect(out.code).toContain('export const c = compile((x) => x.mul(w));');
    expect(out.code).toContain('export const e = ((kc) => kc((x) => x.mul(w)))(compile);');
  });

  it('leaves a call that already passes closure alone (so transforming twice changes nothing)', () => {
    const once = transformKiln(MODULE, 'app.js')!.code;
    expect(transformKiln(once, 'app.js')).toBeNull();
    expect(
      transformKiln("import { compile } from '@kiln/tracer';\nexport const d = compile((x) => x, { closure: null });\n", 'd.js'),
    ).toBeNull();
  });

  it('says why it cannot see the function of a call: in the call (for explain), and under KILN_LOGS=guards at its original line', () => {
    const code = `import { compile } from '@kiln/tracer';
import { block } from './model.js';
let f = (x) => x; f = (x) => x.neg();
const made = makeFn();
export const a = compile(f);
export const b = compile(made);
export const c = compile(makeFn());
export const d = compile(block, { backend: 'eager' });
export const e = compile(...args);
export const g = (h) => compile(h);
`;
    const logged: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void logged.push(m));
    const before = process.env.KILN_LOGS;
    process.env.KILN_LOGS = 'guards';
    let out: ReturnType<typeof transformKiln>;
    try {
      out = transformKiln(code, 'd.js');
    } finally {
      process.env.KILN_LOGS = before;
      spy.mockRestore();
    }
    expect(out!.calls).toEqual([]);
    expect(out!.skipped.map((k) => [k.location, k.reason])).toEqual([
      ['d.js:5:18', '`f` is assigned again after its declaration, so the function it holds at the call is not known'],
      ['d.js:6:18', '`made` holds the result of a call, which the transform cannot follow'],
      ['d.js:7:18', 'its first argument is the result of a call, which the transform cannot follow'],
      ['d.js:8:18', "`block` is imported from './model.js': what it reads is declared there"],
      ['d.js:9:18', 'its arguments are spread, so the transform cannot add its options'],
      ['d.js:10:25', '`h` is a parameter, so the function it holds is not known here'],
    ]);
    expect(out!.code).toContain(
      'compile(f, { closure: { names: [], get: () => [], kiln: [], globals: [], unseen: "`f` is assigned again after its declaration, so the function it holds at the call is not known" } })',
    );
    expect(out!.code).toContain(
      "compile(block, { ...{ backend: 'eager' }, closure: { names: [], get: () => [], kiln: [], globals: [], unseen:",
    );
    expect(out!.code).toContain('compile(...args);');
    expect(logged).toHaveLength(6);
    expect(logged[0]).toBe(
      '[kiln:guards] d.js:5:18: the load-time transform cannot see the function this compile call is given (`f` is assigned again after its declaration, so the function it holds at the call is not known); what it reads from its closure is not guarded, so it re-runs its JavaScript if it reads any (explain says what)',
    );
  });

  it("sees through esbuild's __name wrapper (what tsx writes for a named arrow or function expression)", () => {
    const code = `var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });
import { compile } from '@kiln/tracer';
const w = 2;
const helper = __name((x) => x.mul(w), "helper");
const a = __name((x) => helper(x), "a");
let b = __name(function(x) { return x.add(w); }, "b");
export const fa = compile(a);
export const fb = compile(b);
`;
    const out = transformKiln(code, 'h.js')!;
    expect(out.calls.map((c) => c.names)).toEqual([['helper', 'w'], ['w']]);
  });

  it('accepts a function declared later in the module, and names the globals it reads', () => {
    const code = `import { compile } from '@kiln/tracer';
export const fast = compile(step);
function step(x) { return x.mul(lr).add(globalThis.bias ?? 0).mul(Math.E); }
let lr = 0.1;
`;
    const out = transformKiln(code, 'e.js')!;
    expect(out.calls[0]).toMatchObject({ names: ['lr'], globals: [] });
    expect(out.code).toContain('compile(step, { closure: { names: ["lr"], get: () => [lr]');
  });

  it('leaves out a helper variable that the call site sees shadowed (the tracer then re-runs and says why)', () => {
    const code = `import { compile } from '@kiln/tracer';
const w = 1;
const helper = (x) => x.mul(w);
function make(w) { return compile((x) => helper(x)); }
`;
    expect(transformKiln(code, 'f.js')!.calls[0]!.names).toEqual(['helper']);
  });

  it('throws a KilnError naming the file when a module importing @kiln/tracer is not JavaScript', () => {
    expect(() => transformKiln("import { compile } from '@kiln/tracer';\nconst f = (x: number) => x;\n", 'g.ts')).toThrow(
      /g\.ts imports @kiln\/tracer but is not JavaScript/,
    );
  });
});

/** Where a generated position came from, by Node's own source-map reader (lines 1-based, columns 0-based). */
function originalPositionFor(map: SourceMap, p: { line: number; column: number }): { source: string; line: number; column: number } {
  const e = map.findEntry(p.line - 1, p.column) as { originalSource?: string; originalLine?: number; originalColumn?: number };
  return { source: e.originalSource ?? '', line: (e.originalLine ?? -2) + 1, column: e.originalColumn ?? -1 };
}

/** Line (1-based) and column (0-based) of the first occurrence of `needle` in `code`. */
function position(code: string, needle: string, from = 0): { line: number; column: number } {
  const at = code.indexOf(needle, from);
  if (at < 0) throw new Error(`${needle} not found`);
  const before = code.slice(0, at).split('\n');
  return { line: before.length, column: before.at(-1)!.length };
}

describe('source maps', () => {
  it('map a position after the rewrite back to the original line and column', () => {
    const out = transformKiln(MODULE, 'app.js', { sourceMap: 'separate' })!;
    const map = new SourceMap(out.map as never);
    // The line after a rewritten call, and code inside the second call (before its inserted text), map to where they were.
    const generated = position(out.code, 'export const inline');
    expect(originalPositionFor(map, generated)).toMatchObject({ source: 'app.js', ...position(MODULE, 'export const inline') });
    const inCall = position(out.code, 'Math.PI');
    expect(originalPositionFor(map, inCall)).toMatchObject({ source: 'app.js', ...position(MODULE, 'Math.PI') });
  });

  it('chain onto the inline map of the step before (TypeScript -> JavaScript), back to the original file', () => {
    // A stand-in for tsx: the original TypeScript, "compiled" by dropping its type annotations, with an inline map.
    const ts = MODULE.replace('function mlp(x) {', 'function mlp(x: Tensor): Tensor {').replace('let scale = 2;', 'let scale: number = 2;');
    const s = new MagicString(ts);
    s.remove(ts.indexOf(': Tensor):'), ts.indexOf(': Tensor):') + ': Tensor'.length);
    s.remove(ts.indexOf('): Tensor {') + 1, ts.indexOf('): Tensor {') + '): Tensor'.length);
    s.remove(ts.indexOf(': number'), ts.indexOf(': number') + ': number'.length);
    const js = `${s.toString()}${inlineComment(s.generateMap({ hires: true, source: 'app.ts', includeContent: true }) as unknown as SourceMapJSON)}\n`;
    expect(js.startsWith(MODULE.slice(0, 100))).toBe(true);

    const out = transformKiln(js, 'app.js', { sourceMap: 'inline' })!;
    expect(out.code.match(/sourceMappingURL/g)).toHaveLength(1);
    const chained = readInlineMap(out.code)!.map;
    expect(chained.sources).toEqual(['app.ts']);
    const map = new SourceMap(chained as never);
    for (const needle of ['F.gelu', 'export const inline', 'mlp(x).add', 'x.matmul(w1)']) {
      expect(originalPositionFor(map, position(out.code, needle)), needle).toMatchObject({ source: 'app.ts', ...position(ts, needle) });
    }
  });
});

describe('modules and classes', () => {
  const CLASSES = `import { compile } from '@kiln/tracer';
import { F } from '@kiln/eager';
import { Imported } from './model.js';
const SCALE = 2;
class Linear {
  constructor(w) { this.w = w; }
  forward(x) { return F.relu(x.matmul(this.w)).mul(SCALE); }
}
const Block = class extends Linear { forward(x) { return super.forward(x).add(offset); } };
let offset = 1;
const model = new Block(w0);
export const a = compile(model);
export const b = compile((m, x) => m.forward(x));
export const c = compile({ w: 1, forward(x) { return F.gelu(x).mul(this.w).add(offset); } });
export const d = compile(new Imported());
class Later {}
`;

  it("passes each class the call sees, with the free names of its body: an instance's methods read through its class", () => {
    const out = transformKiln(CLASSES, 'm.js')!;
    const first = out.calls[0]!;
    expect(first.names).toEqual(['Linear', 'Block', 'SCALE', 'offset']);
    expect(first.kiln).toEqual(['F']);
    expect(out.code).toContain(
      'compile(model, { closure: { names: ["Linear", "Block", "SCALE", "offset"], get: () => [Linear, Block, SCALE, offset], kiln: ["F"], globals: [], ' +
        'classes: { Linear: ["F", "SCALE"], Block: ["Linear", "offset"] } } })',
    );
    // An argument's class is only known at run time: the classes come along all the same.
    expect(out.calls[1]!.names).toEqual(['Linear', 'Block', 'SCALE', 'offset']);
  });

  it("takes a module literal's methods as its code, and says why it cannot see an instance of an imported class", () => {
    const out = transformKiln(CLASSES, 'm.js')!;
    expect(out.calls[2]!.names).toEqual(['Linear', 'Block', 'offset', 'SCALE']);
    expect(out.skipped.map((k) => k.reason)).toEqual([
      "its first argument is an instance of `Imported`, imported from './model.js': what its methods read is declared there",
    ]);
    expect(out.code).not.toContain('"Later"'); // declared after the calls: not initialized when they run
  });
});

describe('renamed parameters', () => {
  it("are passed with the names the step before's map gives them (esbuild renames a parameter that shadows a module variable)", () => {
    const ts =
      "import { compile } from '@kiln/tracer';\nconst x = 1;\nconst w = 2;\nfunction f(x: T, w: T, y: T) { return x.add(w).add(y); }\nexport const fast = compile(f);\n";
    const s = new MagicString(ts);
    for (const [name, to] of [
      ['x: T', 'x2'],
      ['w: T', 'w2'],
    ] as const) {
      const at = ts.indexOf(name);
      s.overwrite(at, at + 1, to, { storeName: true });
      s.remove(at + 1, at + name.length);
    }
    const y = ts.indexOf('y: T');
    s.remove(y + 1, y + 4);
    const js = `${s.toString()}${inlineComment(s.generateMap({ hires: true, source: 'f.ts', includeContent: true }) as unknown as SourceMapJSON)}\n`;
    expect(js).toContain('function f(x2, w2, y) {');
    const out = transformKiln(js, 'f.js', { sourceMap: 'inline' })!;
    expect(out.calls[0]!.renamed).toEqual({ x2: 'x', w2: 'w' });
    expect(out.code).toContain('globals: [], renamed: { x2: "x", w2: "w" } } })');
  });
});

describe('kilnPlugin (Vite / Rollup)', () => {
  it('is a post plugin whose transform hook returns the code and the map of its step, or null', () => {
    const plugin = kilnPlugin();
    expect(plugin).toMatchObject({ name: 'kiln', enforce: 'post' });
    const out = plugin.transform.call(undefined, MODULE, '/src/app.ts?v=1')!;
    expect(out.code).toContain('closure: { names: ["mlp", "cfg", "w1", "scale"]');
    expect(out.map.sources).toEqual(['/src/app.ts']);
    expect(plugin.transform.call(undefined, 'export const x = 1;\n', '/src/other.ts')).toBeNull();
    expect(plugin.transform.call(undefined, MODULE, '/src/style.css')).toBeNull();
    expect(kilnPlugin({ exclude: /app/ }).transform.call(undefined, MODULE, '/src/app.ts')).toBeNull();
  });

  it("names a call it cannot see by its line in the original source, through the bundler's combined map", () => {
    // A stand-in for the steps before: the original with two comment lines taken out.
    const original = "import { compile } from '@kiln/tracer';\n// one\n// two\nexport const a = compile(makeFn());\n";
    const s = new MagicString(original);
    s.remove(original.indexOf('// one'), original.indexOf('export'));
    const map = s.generateMap({ hires: true, source: '/src/app.ts', includeContent: true }) as unknown as SourceMapJSON;
    const logged: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void logged.push(m));
    process.env.KILN_LOGS = 'guards';
    try {
      kilnPlugin().transform.call({ getCombinedSourcemap: () => map }, s.toString(), '/src/app.ts');
    } finally {
      delete process.env.KILN_LOGS;
      spy.mockRestore();
    }
    expect(logged[0]).toMatch(/^\[kiln:guards\] \/src\/app\.ts:4:18: the load-time transform cannot see the function/);
  });

  it('warns through the bundler and passes the module on when it cannot parse it', () => {
    const warnings: string[] = [];
    const out = kilnPlugin().transform.call(
      { warn: (m) => warnings.push(m) },
      "import { compile } from '@kiln/tracer'; let x: number;",
      '/src/a.ts',
    );
    expect(out).toBeNull();
    expect(warnings[0]).toMatch(/load-time transform skipped \/src\/a\.ts/);
  });
});

describe('node load hook', () => {
  const next =
    (source: string, format = 'module') =>
    async () => ({ format, source, shortCircuit: true });

  it('returns what the next loader gave, the same object, for a module without kiln compile calls', async () => {
    const given = { format: 'module', source: 'export const x = 1;\n', shortCircuit: true };
    expect(await load('file:///app/a.js', {}, async () => given)).toBe(given);
    const buffer = { format: 'module', source: new TextEncoder().encode('export const y = 2;\n') };
    expect(await load('file:///app/b.js', {}, async () => buffer)).toBe(buffer);
  });

  it('rewrites an ES module (its source as text or bytes) and ends it with an inline map', async () => {
    const out = await load('file:///app/app.js', {}, next(MODULE));
    expect(String(out.source)).toContain('closure: { names: ["mlp", "cfg", "w1", "scale"]');
    expect(readInlineMap(String(out.source))!.map.sources).toEqual(['/app/app.js']);
    const bytes = await load('file:///app/app.js', {}, async () => ({ format: 'module', source: new TextEncoder().encode(MODULE) }));
    expect(String(bytes.source)).toContain('closure:');
    expect(await load('file:///app/app.cjs', {}, next(MODULE, 'commonjs'))).toMatchObject({ source: MODULE });
  });
});
