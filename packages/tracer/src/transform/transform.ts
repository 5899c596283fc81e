/**
 * The load-time transform: hands each `compile(...)` (and `explain(...)`)
 * call imported from '@kiln/tracer' a getter of its function's free
 * variables, so that the tracer can guard closures and replay.
 *
 *   compile((x) => mlp(x).mul(scale), { backend: 'eager' })
 * becomes
 *   compile((x) => mlp(x).mul(scale), { ...{ backend: 'eager' }, closure: { names: ["mlp", "scale", "w1"],
 *     get: () => [mlp, scale, w1], kiln: ["F"], globals: [] } })
 *
 * The first argument must be a function expression, an arrow, or an
 * identifier bound to a function in the module and never reassigned. A
 * call whose function the transform cannot see (an import, a parameter, a
 * call's result, a reassigned variable) is rewritten to say so
 * (`closure: { names: [], ..., unseen: "<why>" }`: explain gives the
 * reason) and logged under KILN_LOGS=guards with its original location.
 * `names` are the free variables of that function and, transitively, of
 * the module's functions it reads (helpers), where the name means the same
 * variable at the call; `kiln` are names imported from @kiln packages
 * (library code); `globals` are names with no declaration. The getter is
 * only called by the tracer, on each call of the compiled function, so it
 * reads the current values. Nothing else in the file changes: a module
 * without such a call comes back as null (untouched), and a call that
 * already passes `closure` is left alone (so transforming twice is harmless).
 */

import { KilnError } from '@kiln/eager';
import { log } from '@kiln/gpu-runtime';
import type * as acorn from 'acorn';
import { parse } from 'acorn';
import MagicString from 'magic-string';
import type { Binding, FreeVariable, FunctionNode, Scope, ScopeAnalysis } from '../source/scope';
import { analyzeScopes, freeVariables, isFunctionNode } from '../source/scope';
import { TOOLING_HELPERS } from '../source/tooling';
import type { SourceMapJSON } from './source-map';
import { chainMaps, inlineComment, OriginalPositions, readInlineMap } from './source-map';

export const TRACER_MODULE = '@kiln/tracer';
/** The calls the transform rewrites: both take `(fn, options)`. */
const ENTRY_POINTS = new Set(['compile', 'explain']);

export interface TransformOptions {
  /**
   * `'inline'`: chain onto an inline map the code already carries and end
   * the output with an inline map (Node's load hook); `'separate'`: return
   * the map of this step alone (bundlers chain it themselves); `false`: none.
   */
  sourceMap?: 'inline' | 'separate' | false;
  /**
   * The map of the step that produced `code` (a bundler's combined map so
   * far), for messages that name original lines; with `'inline'` the
   * code's own inline map is used.
   */
  inputMap?: SourceMapJSON | null;
}

/** One rewritten call, for tests and logs. */
export interface TransformedCall {
  /** 1-based line and 0-based column of the call in the code given. */
  readonly line: number;
  readonly column: number;
  readonly names: readonly string[];
  readonly kiln: readonly string[];
  readonly globals: readonly string[];
  /** Parameters the step before renamed (generated name -> the name in the original source). */
  readonly renamed: Readonly<Record<string, string>>;
}

/** A compile call whose function the transform could not see: its closure is not passed. */
export interface SkippedCall {
  /** 1-based line and 0-based column of the call in the code given. */
  readonly line: number;
  readonly column: number;
  /** `file:line:column` in the original source (through the input map, when there is one). */
  readonly location: string;
  readonly reason: string;
}

export interface TransformResult {
  readonly code: string;
  /** The map of the output (chained, for `'inline'`), or null when not asked for. */
  readonly map: SourceMapJSON | null;
  readonly calls: readonly TransformedCall[];
  readonly skipped: readonly SkippedCall[];
}

/** ECMAScript's own globals: they do not change, so they are neither passed nor reported. */
const BUILTINS = new Set([
  'undefined',
  'NaN',
  'Infinity',
  'globalThis',
  'Math',
  'Number',
  'String',
  'Boolean',
  'BigInt',
  'Symbol',
  'Object',
  'Array',
  'Function',
  'JSON',
  'Reflect',
  'Proxy',
  'Promise',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
  'Date',
  'RegExp',
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Atomics',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
  'isNaN',
  'isFinite',
  'parseInt',
  'parseFloat',
  'encodeURI',
  'encodeURIComponent',
  'decodeURI',
  'decodeURIComponent',
  'eval',
  'arguments',
]);

const isKilnModule = (source: string) => source === '@kiln' || source.startsWith('@kiln/');

/**
 * Rewrites the kiln compile calls of one module (JavaScript, ES module
 * syntax). Returns null when there is nothing to rewrite. Throws a
 * KilnError naming the file when a module that imports '@kiln/tracer'
 * cannot be parsed.
 */
export function transformKiln(code: string, file: string, options: TransformOptions = {}): TransformResult | null {
  if (!code.includes(TRACER_MODULE)) return null;
  let program: acorn.Program;
  try {
    program = parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true, allowHashBang: true });
  } catch (e) {
    throw new KilnError(
      `${file} imports ${TRACER_MODULE} but is not JavaScript the transform can parse (${e instanceof Error ? e.message : String(e)}); ` +
        'run the kiln transform after TypeScript or JSX has been compiled away (Node: --import tsx before --import @kiln/tracer/register; Vite: kilnPlugin() runs as a post plugin)',
      { op: 'kiln transform' },
    );
  }
  const scopes = analyzeScopes(program);
  const entries = entryBindings(program, scopes.root);
  if (entries.named.size === 0 && entries.namespaces.size === 0) return null;

  const s = new MagicString(code);
  const mode = options.sourceMap ?? 'separate';
  const incoming = mode === 'inline' ? readInlineMap(code) : null;
  const inputMap = incoming?.map ?? options.inputMap ?? null;
  const original = inputMap ? new OriginalPositions(inputMap) : null;
  const calls: TransformedCall[] = [];
  const skipped: SkippedCall[] = [];
  walk(program, (n) => {
    if (n.type !== 'CallExpression') return;
    const callee = entryCallee(n, scopes, entries);
    const at = callee ? scopes.referenceOf(callee)?.scope : undefined;
    if (!at) return;
    const rewritten = rewriteCall(n, at, s, scopes, original);
    if (rewritten === null) return;
    if ('reason' in rewritten) {
      const { line, column } = n.loc!.start;
      const o = original?.at(line, column);
      const location = o ? `${o.source ?? file}:${o.line}:${o.column + 1}` : `${file}:${line}:${column + 1}`;
      skipped.push({ line, column, location, reason: rewritten.reason });
      log(
        'guards',
        `${location}: the load-time transform cannot see the function this compile call is given (${rewritten.reason}); ` +
          'what it reads from its closure is not guarded, so it re-runs its JavaScript if it reads any (explain says what)',
      );
    } else calls.push(rewritten);
  });
  if (calls.length === 0 && !s.hasChanged()) return null;

  if (mode === false) return { code: s.toString(), map: null, calls, skipped };
  if (incoming) s.remove(incoming.start, code.length);
  const own = s.generateMap({ hires: true, source: file, includeContent: true }) as unknown as SourceMapJSON;
  if (mode === 'separate') return { code: s.toString(), map: own, calls, skipped };
  const map = incoming ? chainMaps(own, incoming.map) : own;
  return { code: `${s.toString().trimEnd()}\n${inlineComment(map)}\n`, map, calls, skipped };
}

interface EntryBindings {
  /** Local bindings of `compile` / `explain` imported from '@kiln/tracer'. */
  readonly named: Set<Binding>;
  /** `import * as kiln from '@kiln/tracer'`. */
  readonly namespaces: Set<Binding>;
}

function entryBindings(program: acorn.Program, root: Scope): EntryBindings {
  const named = new Set<Binding>();
  const namespaces = new Set<Binding>();
  for (const s of program.body) {
    if (s.type !== 'ImportDeclaration' || s.source.value !== TRACER_MODULE) continue;
    for (const spec of s.specifiers) {
      const b = root.bindings.get(spec.local.name);
      if (!b || b.from === null) continue;
      if (b.from.imported === '*') namespaces.add(b);
      else if (ENTRY_POINTS.has(b.from.imported)) named.add(b);
    }
  }
  return { named, namespaces };
}

/** The identifier a call of kiln's compile or explain is made through (the callee, or its namespace object), or null. */
function entryCallee(n: acorn.CallExpression, scopes: ScopeAnalysis, entries: EntryBindings): acorn.Identifier | null {
  let callee: acorn.AnyNode = n.callee;
  while (callee.type === 'ParenthesizedExpression' || callee.type === 'ChainExpression') callee = callee.expression;
  // `(0, kiln.compile)(...)`, as bundlers write calls of imports
  if (callee.type === 'SequenceExpression') callee = callee.expressions.at(-1)!;
  if (callee.type === 'Identifier') {
    const b = scopes.referenceOf(callee)?.binding;
    return b && entries.named.has(b) ? callee : null;
  }
  if (
    callee.type === 'MemberExpression' &&
    !callee.computed &&
    callee.property.type === 'Identifier' &&
    ENTRY_POINTS.has(callee.property.name) &&
    callee.object.type === 'Identifier'
  ) {
    const b = scopes.referenceOf(callee.object)?.binding;
    return b && entries.namespaces.has(b) ? callee.object : null;
  }
  return null;
}

/**
 * What a compile call is given, as the transform sees it: the code whose
 * free variables the closure passes (a function; a module literal's
 * methods; none for an instance of one of the module's classes, which the
 * classes' closures cover) and the function whose parameters are the
 * compiled function's (`forward` for a module); or why it cannot see it.
 */
type Target = { readonly code: readonly acorn.AnyNode[]; readonly entry: FunctionNode | null } | { readonly unseen: string };

/** The function a call's first argument is, if the transform can see it; else why not, in the user's words. */
function targetOf(arg: acorn.AnyNode, scopes: ScopeAnalysis): Target {
  if (arg.type === 'FunctionExpression' || arg.type === 'ArrowFunctionExpression') return { code: [arg], entry: arg };
  if (arg.type === 'ObjectExpression') return moduleLiteral(arg);
  if (arg.type === 'NewExpression') return instanceOf(arg, 'its first argument', scopes);
  if (arg.type === 'CallExpression') return { unseen: 'its first argument is the result of a call, which the transform cannot follow' };
  if (arg.type === 'MemberExpression')
    return { unseen: 'its first argument is a property of an object, which the transform cannot follow' };
  if (arg.type !== 'Identifier') return { unseen: `its first argument is not a function the transform can follow (${arg.type})` };
  const name = `\`${arg.name}\``;
  const b = scopes.referenceOf(arg)?.binding ?? null;
  if (!b) return { unseen: `${name} is not declared in this module` };
  if (b.from) return { unseen: `${name} is imported from '${b.from.source}': what it reads is declared there` };
  if (b.kind === 'param') return { unseen: `${name} is a parameter, so the function it holds is not known here` };
  if (b.reassigned) return { unseen: `${name} is assigned again after its declaration, so the function it holds at the call is not known` };
  if (b.init && isFunctionNode(b.init)) return { code: [b.init], entry: b.init };
  if (b.init?.type === 'ObjectExpression') return moduleLiteral(b.init);
  if (b.init?.type === 'NewExpression') return instanceOf(b.init, name, scopes);
  if (b.init?.type === 'CallExpression') return { unseen: `${name} holds the result of a call, which the transform cannot follow` };
  return { unseen: `${name} is not declared as a function` };
}

/** A module written as an object literal: its methods and function-valued fields are its code. */
function moduleLiteral(o: acorn.ObjectExpression): Target {
  const code = literalFunctions(o);
  const forward = o.properties.find(
    (p): p is acorn.Property => p.type === 'Property' && !p.computed && p.key.type === 'Identifier' && p.key.name === 'forward',
  );
  return { code, entry: forward && isFunctionNode(forward.value) ? forward.value : null };
}

/** The functions an object literal holds as methods or fields. */
function literalFunctions(o: acorn.ObjectExpression): FunctionNode[] {
  return o.properties.flatMap((p) => (p.type === 'Property' && isFunctionNode(p.value) ? [p.value] : []));
}

/** `new C(...)`: seen when C is a class of this module (its closure is passed with the module's classes). */
function instanceOf(n: acorn.NewExpression, what: string, scopes: ScopeAnalysis): Target {
  const c = n.callee.type === 'Identifier' ? (scopes.referenceOf(n.callee)?.binding ?? null) : null;
  const cls = classOf(c);
  if (cls) return { code: [], entry: methodOf(cls, 'forward', scopes) };
  const which = n.callee.type === 'Identifier' ? `\`${n.callee.name}\`` : 'a class';
  if (c?.from)
    return { unseen: `${what} is an instance of ${which}, imported from '${c.from.source}': what its methods read is declared there` };
  return { unseen: `${what} is an instance of ${which}, which is not a class declared in this module` };
}

type ClassNode = acorn.ClassDeclaration | acorn.ClassExpression | acorn.AnonymousClassDeclaration;

/** The class a binding holds for good (a class declaration, or a const/let/var initialized with a class and never reassigned). */
function classOf(b: Binding | null): ClassNode | null {
  if (!b || b.reassigned || !b.init) return null;
  return b.init.type === 'ClassDeclaration' || b.init.type === 'ClassExpression' ? b.init : null;
}

/** The method `name` of a class, or of the module's class it extends. */
function methodOf(cls: ClassNode, name: string, scopes: ScopeAnalysis, depth = 0): FunctionNode | null {
  for (const m of cls.body.body) {
    if (
      m.type === 'MethodDefinition' &&
      m.kind === 'method' &&
      !m.static &&
      !m.computed &&
      m.key.type === 'Identifier' &&
      m.key.name === name
    )
      return m.value;
  }
  const base = cls.superClass?.type === 'Identifier' ? classOf(scopes.referenceOf(cls.superClass)?.binding ?? null) : null;
  return base && depth < 16 ? methodOf(base, name, scopes, depth + 1) : null;
}

/** The classes a call sees, declared before it (a class declared later is not initialized when it runs, and the getter would throw). */
function visibleClasses(call: acorn.CallExpression, at: Scope): Binding[] {
  const out: Binding[] = [];
  const taken = new Set<string>();
  for (let s: Scope | null = at; s; s = s.parent) {
    for (const b of s.bindings.values()) {
      if (taken.has(b.name)) continue;
      taken.add(b.name);
      const cls = classOf(b);
      if (cls && b.id && b.id.start < call.start) out.push(b);
    }
  }
  return out.sort((a, b) => a.id!.start - b.id!.start);
}

function hasClosureOption(arg: acorn.AnyNode | undefined): boolean {
  return (
    arg?.type === 'ObjectExpression' &&
    arg.properties.some(
      (p) =>
        p.type === 'Property' &&
        !p.computed &&
        ((p.key.type === 'Identifier' && p.key.name === 'closure') || (p.key.type === 'Literal' && p.key.value === 'closure')),
    )
  );
}

interface ClosureParts {
  readonly names: string[];
  readonly kiln: string[];
  readonly globals: string[];
  /** Class name -> the free names of its body that the record passes (or lists as kiln or global). */
  readonly classes: Map<string, string[]>;
}

/**
 * The closure of what a compile call is given — the free variables of
 * `code`, of the classes the call sees, and of the module's functions,
 * classes and object literals they read (helpers), transitively — as seen
 * from the call: a name is passed only where it means the same variable
 * there.
 */
function closureOf(code: readonly acorn.AnyNode[], classes: readonly Binding[], at: Scope, scopes: ScopeAnalysis): ClosureParts {
  const names: string[] = [];
  const kiln: string[] = [];
  const globals: string[] = [];
  const seen = new Set<string>();
  const visited = new Set<acorn.AnyNode>(code);
  const queue: FreeVariable[][] = code.map((n) => freeVariables(scopes, n));
  const perClass = new Map<string, string[]>();
  for (const c of classes) {
    const node = classOf(c)!;
    if (at.lookup(c.name) !== c) continue;
    seen.add(c.name);
    names.push(c.name);
    const free = freeVariables(scopes, node).filter((v) => at.lookup(v.name) === v.binding && !isTooling(v));
    perClass.set(
      c.name,
      free.map((v) => v.name),
    );
    if (!visited.has(node)) {
      visited.add(node);
      queue.push(free);
    }
  }
  while (queue.length > 0) {
    for (const v of queue.shift()!) {
      if (seen.has(v.name)) continue;
      // The getter is written at the call: the name must mean the same variable there.
      if (at.lookup(v.name) !== v.binding) continue;
      seen.add(v.name);
      const b = v.binding;
      if (b === null) {
        if (!BUILTINS.has(v.name)) globals.push(v.name);
        continue;
      }
      if (isTooling(v)) continue;
      if (b.from && isKilnModule(b.from.source)) {
        kiln.push(v.name);
        continue;
      }
      names.push(v.name);
      // A helper the module defines: what it reads is read by the compiled function too.
      for (const helper of codeOf(b)) {
        if (visited.has(helper)) continue;
        visited.add(helper);
        queue.push(freeVariables(scopes, helper));
      }
    }
  }
  return { names, kiln, globals, classes: perClass };
}

/** A helper a build tool wrote (esbuild's keepNames, which tsx emits): it only names functions, the tracer knows it. */
function isTooling(v: FreeVariable): boolean {
  return TOOLING_HELPERS.has(v.name) && v.binding !== null && v.binding.scope.kind === 'module';
}

/** The code a binding holds: a function, a class, or an object literal's functions. */
function codeOf(b: Binding): acorn.AnyNode[] {
  const init = b.init;
  if (!init) return [];
  if (isFunctionNode(init) || init.type === 'ClassDeclaration' || init.type === 'ClassExpression') return [init];
  return init.type === 'ObjectExpression' ? literalFunctions(init) : [];
}

/** Rewrites one compile call: its closure as a getter, or (`SkippedCall`'s reason) why the transform cannot see its function; null: left alone. */
function rewriteCall(
  call: acorn.CallExpression,
  at: Scope,
  s: MagicString,
  scopes: ScopeAnalysis,
  original: OriginalPositions | null,
): TransformedCall | { readonly reason: string } | null {
  const [first, second] = call.arguments;
  if (!first || first.type === 'SpreadElement' || second?.type === 'SpreadElement') {
    return { reason: 'its arguments are spread, so the transform cannot add its options' };
  }
  if (hasClosureOption(second)) return null;
  const target = targetOf(first, scopes);
  const list = (xs: readonly string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const seen = 'code' in target ? target : { code: [], entry: null };
  // The module's classes are passed even when the function is not seen: an instance of one is recognized by its class at run time.
  const { names, kiln, globals, classes } = closureOf(seen.code, visibleClasses(call, at), at, scopes);
  const renamed = original && seen.entry ? renamedParams(seen.entry, original) : {};
  const pairs = Object.entries(renamed).map(([generated, name]) => `${generated}: ${JSON.stringify(name)}`);
  let extra = pairs.length > 0 ? `, renamed: { ${pairs.join(', ')} }` : '';
  if (classes.size > 0) extra += `, classes: { ${[...classes].map(([k, free]) => `${k}: ${list(free)}`).join(', ')} }`;
  if ('unseen' in target) extra += `, unseen: ${JSON.stringify(target.unseen)}`;
  const record = `{ names: ${list(names)}, get: () => [${names.join(', ')}], kiln: ${list(kiln)}, globals: ${list(globals)}${extra} }`;
  const loc = call.loc!.start;
  const result = 'unseen' in target ? { reason: target.unseen } : { line: loc.line, column: loc.column, names, kiln, globals, renamed };
  if (second) {
    s.appendRight(second.start, '{ ...');
    s.appendLeft(second.end, `, closure: ${record} }`);
  } else s.appendLeft(first.end, `, { closure: ${record} }`);
  return result;
}

/**
 * The parameters of `fn` that the step before renamed (esbuild writes `x2`
 * for a parameter `x` that shadows a module variable `x`), generated name
 * -> original name, as that step's map records them: guards and graphs
 * then name inputs as the user wrote them.
 */
function renamedParams(fn: FunctionNode, original: OriginalPositions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of fn.params) {
    const id =
      p.type === 'Identifier'
        ? p
        : p.type === 'AssignmentPattern' && p.left.type === 'Identifier'
          ? p.left
          : p.type === 'RestElement' && p.argument.type === 'Identifier'
            ? p.argument
            : null;
    if (!id) continue;
    const name = original.at(id.loc!.start.line, id.loc!.start.column)?.name;
    if (name && name !== id.name) out[id.name] = name;
  }
  return out;
}

function walk(n: acorn.AnyNode, visit: (n: acorn.AnyNode) => void): void {
  visit(n);
  for (const [key, value] of Object.entries(n)) {
    if (key === 'loc') continue;
    if (Array.isArray(value)) {
      for (const v of value)
        if (v && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string') walk(v as acorn.AnyNode, visit);
    } else if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string')
      walk(value as acorn.AnyNode, visit);
  }
}
