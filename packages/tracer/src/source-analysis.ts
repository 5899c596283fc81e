/**
 * What `fn.toString()` says about a function, read with acorn: its
 * parameter names (for guard paths), its free variables, the side effects
 * it may have, whether a tensor it makes could be stored somewhere other
 * than its return value, and where it may break a graph. The compiled
 * function replays a graph without running `fn` only when this analysis
 * finds nothing that a replay would skip; anything it cannot read (native,
 * bound or unparsable functions, `eval`, `with`) is opaque, which means
 * re-run. The analysis never throws.
 */
import { parse } from 'acorn';
import type * as acorn from 'acorn';
import { F, Tensor } from '@kiln/eager';

/** A place in the function's own source: line 1 is the line the function starts on. */
export interface SourceSite {
  /** 1-based, counted from the first line of `fn.toString()`. */
  readonly line: number;
  /** 0-based. */
  readonly column: number;
  /** The code at that place, shortened. */
  readonly text: string;
}

export type SideEffectKind = 'console' | 'assignment' | 'mutation' | 'nondeterminism' | 'timer' | 'io' | 'call';

export interface SideEffect extends SourceSite {
  readonly kind: SideEffectKind;
  /** One line a person reads: "console.log(...)", "assigns outer variable `count`". */
  readonly description: string;
}

export interface ParamName {
  /** The parameter's name, or null for a destructuring pattern. */
  readonly name: string | null;
  readonly rest: boolean;
}

export interface SourceInfo {
  readonly source: string;
  readonly name: string;
  /** Why the source could not be analyzed (native or bound function, parse error, eval, with); null when it was. */
  readonly opaque: string | null;
  readonly params: readonly ParamName[];
  readonly isAsync: boolean;
  readonly isGenerator: boolean;
  readonly usesThis: boolean;
  /** Identifiers the function reads from outside itself, other than side-effect-free globals (Math, Object, ...). */
  readonly freeVariables: readonly string[];
  readonly sideEffects: readonly SideEffect[];
  /**
   * Whether a value the function computes could be kept anywhere but its
   * return value: stored into an outer variable, a member of something it
   * did not create, or handed to code this analysis cannot see.
   */
  readonly mayEscape: boolean;
  /** Tensor data reads (`item`, `data`, `toArray`) and in-place calls (`add_`, ...): where graphs may break. */
  readonly breakSites: readonly SourceSite[];
}

/** Globals that neither have side effects nor change between calls. */
const PURE_GLOBALS = new Set([
  'Math', 'Number', 'String', 'Boolean', 'Array', 'Object', 'JSON', 'Infinity', 'NaN', 'undefined', 'isNaN',
  'isFinite', 'parseInt', 'parseFloat', 'Symbol', 'BigInt', 'Error', 'TypeError', 'RangeError', 'Map', 'Set',
  'WeakMap', 'WeakSet', 'Promise', 'Reflect', 'Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array',
  'Uint32Array', 'Int8Array', 'Int16Array', 'Uint16Array', 'ArrayBuffer', 'RegExp',
]);

/**
 * Helpers that build tools insert into compiled code: esbuild (and so tsx
 * and Vite) wraps functions in `__name(fn, "name")` to keep their names. It
 * only sets `fn.name`; treating it as an unknown call would make every
 * function run through tsx look like it calls unanalyzed code.
 */
const TOOLING_HELPERS = new Set(['__name']);

/** Globals whose use is itself a side effect (or reads something that changes between calls). */
const IMPURE_GLOBALS: Record<string, SideEffectKind> = {
  console: 'console', Date: 'nondeterminism', performance: 'nondeterminism', crypto: 'nondeterminism',
  setTimeout: 'timer', setInterval: 'timer', setImmediate: 'timer', queueMicrotask: 'timer', requestAnimationFrame: 'timer',
  clearTimeout: 'timer', clearInterval: 'timer', fetch: 'io', XMLHttpRequest: 'io', WebSocket: 'io', process: 'io',
  require: 'io', localStorage: 'io', sessionStorage: 'io', document: 'io', window: 'io', globalThis: 'io', self: 'io',
  navigator: 'io', alert: 'io', postMessage: 'io', structuredClone: 'call',
};

/** Array methods that change the array they are called on. */
const MUTATING_METHODS = new Set(['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin', 'set', 'delete', 'clear']);

/** Methods that call a function they are given. */
const HIGHER_ORDER = new Set([
  'map', 'forEach', 'filter', 'reduce', 'reduceRight', 'some', 'every', 'find', 'findIndex', 'findLast',
  'findLastIndex', 'flatMap', 'then', 'catch', 'finally', 'from',
]);

/** Statics that change their arguments. */
const MUTATING_STATICS = new Set(['assign', 'defineProperty', 'defineProperties', 'setPrototypeOf', 'freeze', 'seal', 'preventExtensions']);

/** Methods whose code is known not to store their arguments or touch anything outside their receiver. */
const KNOWN_METHODS = new Set<string>([
  ...Object.getOwnPropertyNames(Tensor.prototype),
  ...Object.getOwnPropertyNames(Array.prototype), ...Object.getOwnPropertyNames(String.prototype),
  ...Object.getOwnPropertyNames(Number.prototype), ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Math), ...Object.getOwnPropertyNames(Object), ...Object.getOwnPropertyNames(Array),
  ...Object.getOwnPropertyNames(Number), 'then', 'catch', 'finally', 'parse', 'stringify',
].filter((m) => !MUTATING_METHODS.has(m) && !MUTATING_STATICS.has(m)));

/** kiln's own free functions and the functional namespace: calling them stores nothing. */
const KILN_FUNCTIONS = new Set([
  ...Object.keys(F), 'tensor', 'zeros', 'ones', 'full', 'arange', 'rand', 'randn', 'cat', 'stack', 'where', 'matmul', 'split', 'tidy',
]);

const READ_METHODS = new Set(['item', 'data', 'toArray']);

/** Names the test runner or bundler gives imported modules (`import { F } from ...` becomes `__vi_import_0__.F`). */
const IMPORT_NAMESPACE = /^__(vi|vite_ssr)_import_\d+__$/;

const cache = new WeakMap<object, SourceInfo>();

/** The analysis of `fn` (cached per function object). */
export function analyzeFunction(fn: (...args: never[]) => unknown): SourceInfo {
  let info = cache.get(fn);
  if (!info) {
    info = analyzeSource(safeSource(fn), fn.name);
    cache.set(fn, info);
  }
  return info;
}

function safeSource(fn: (...args: never[]) => unknown): string {
  try {
    return Function.prototype.toString.call(fn);
  } catch {
    return '';
  }
}

/**
 * The analysis of a function's source text (what `fn.toString()` returns).
 * `knownFunctions`: free names bound to functions whose code was analyzed
 * elsewhere and found to have no side effects (closure helpers guarded
 * through the load-time transform): calling them is not an unknown call.
 */
export function analyzeSource(source: string, name = '', knownFunctions: ReadonlySet<string> = new Set()): SourceInfo {
  const opaque = (why: string): SourceInfo => ({
    source, name, opaque: why, params: [], isAsync: false, isGenerator: false, usesThis: false,
    freeVariables: [], sideEffects: [], mayEscape: true, breakSites: [],
  });
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) return opaque('a native or bound function: its source is not available');
  const parsed = parseFunction(source);
  if (!parsed) return opaque('its source could not be parsed');
  try {
    return new Analyzer(source, name, parsed.fn, parsed.prefix, knownFunctions).result();
  } catch (e) {
    if (e instanceof OpaqueSource) return opaque(e.message);
    return opaque(`its source could not be analyzed (${e instanceof Error ? e.message : String(e)})`);
  }
}

class OpaqueSource extends Error {}

type FunctionNode = acorn.FunctionExpression | acorn.ArrowFunctionExpression | acorn.FunctionDeclaration | acorn.AnonymousFunctionDeclaration;

/** Parses the text of a function expression, arrow, method or class method, whatever form toString gave. */
function parseFunction(source: string): { fn: FunctionNode; prefix: number } | null {
  const attempts: [string, string, (p: acorn.Program) => FunctionNode | undefined][] = [
    ['(', ')', (p) => {
      const s = p.body[0];
      if (s?.type !== 'ExpressionStatement') return undefined;
      const e = s.expression;
      return e.type === 'FunctionExpression' || e.type === 'ArrowFunctionExpression' ? e : undefined;
    }],
    ['({', '})', (p) => {
      const s = p.body[0];
      if (s?.type !== 'ExpressionStatement' || s.expression.type !== 'ObjectExpression') return undefined;
      const prop = s.expression.properties[0];
      return prop?.type === 'Property' && prop.value.type === 'FunctionExpression' ? prop.value : undefined;
    }],
    ['(class { ', ' })', (p) => {
      const s = p.body[0];
      if (s?.type !== 'ExpressionStatement' || s.expression.type !== 'ClassExpression') return undefined;
      const m = s.expression.body.body[0];
      return m?.type === 'MethodDefinition' ? m.value : undefined;
    }],
  ];
  for (const [open, close, pick] of attempts) {
    try {
      const program = parse(open + source + close, { ecmaVersion: 'latest', locations: true, sourceType: 'script' });
      if (program.body.length !== 1) continue;
      const fn = pick(program);
      if (fn) return { fn, prefix: open.length };
    } catch {
      // try the next form
    }
  }
  return null;
}

interface Binding {
  /** Initialized with a literal or `new`: the function made it, so changing its members is local. */
  fresh: boolean;
  /** A local function: calling it runs code this analysis reads. */
  func: boolean;
}

class Scope {
  readonly names = new Map<string, Binding>();
  constructor(readonly parent: Scope | null, readonly isFunction: boolean, readonly isArrow = false) {}

  lookup(name: string): Binding | undefined {
    for (let s: Scope | null = this; s; s = s.parent) {
      const b = s.names.get(name);
      if (b) return b;
    }
    return undefined;
  }

  declare(name: string, binding: Binding = { fresh: false, func: false }): void {
    this.names.set(name, binding);
  }

  get functionScope(): Scope {
    let s: Scope = this;
    while (!s.isFunction && s.parent) s = s.parent;
    return s;
  }
}

type AnyNode = acorn.AnyNode;

function isNode(v: unknown): v is AnyNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

/** The child nodes of `node`, in source order. */
function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc' || key === 'range') continue;
    if (Array.isArray(value)) for (const v of value) {
      if (isNode(v)) out.push(v);
    }
    else if (isNode(value)) out.push(value);
  }
  return out;
}

/** Names a binding pattern declares. */
function patternNames(p: acorn.Pattern | null | undefined, out: string[] = []): string[] {
  if (!p) return out;
  switch (p.type) {
    case 'Identifier': out.push(p.name); break;
    case 'ObjectPattern':
      for (const prop of p.properties) patternNames(prop.type === 'RestElement' ? prop.argument : prop.value, out);
      break;
    case 'ArrayPattern': for (const e of p.elements) patternNames(e, out); break;
    case 'RestElement': patternNames(p.argument, out); break;
    case 'AssignmentPattern': patternNames(p.left, out); break;
    case 'MemberExpression': break;
  }
  return out;
}

function isFunctionNode(n: AnyNode): n is FunctionNode {
  return n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';
}

/** The nearest non-arrow function scope (which decides `this` and `arguments`), or the outermost scope. */
function ownerOf(scope: Scope): Scope {
  let s = scope;
  while (s.parent && !(s.isFunction && !s.isArrow)) s = s.parent;
  return s;
}

/** The leftmost object of a member chain (`a` in `a.b[c].d`). */
function rootOf(e: AnyNode): AnyNode {
  let n = e;
  while (n.type === 'MemberExpression' || n.type === 'ChainExpression') n = n.type === 'ChainExpression' ? n.expression : n.object;
  return n;
}

class Analyzer {
  private readonly free = new Set<string>();
  private readonly effects: SideEffect[] = [];
  private readonly sites: SourceSite[] = [];
  private usesThis = false;
  private escapes = false;

  constructor(
    private readonly source: string,
    private readonly name: string,
    private readonly fn: FunctionNode,
    private readonly prefix: number,
    private readonly known: ReadonlySet<string> = new Set(),
  ) {}

  result(): SourceInfo {
    const top = new Scope(null, true);
    this.visitFunction(this.fn, top, true);
    return {
      source: this.source, name: this.name, opaque: null,
      params: this.fn.params.map((p) => ({
        name: p.type === 'Identifier' ? p.name : p.type === 'AssignmentPattern' && p.left.type === 'Identifier' ? p.left.name
          : p.type === 'RestElement' && p.argument.type === 'Identifier' ? p.argument.name : null,
        rest: p.type === 'RestElement',
      })),
      isAsync: this.fn.async, isGenerator: this.fn.generator, usesThis: this.usesThis,
      freeVariables: [...this.free], sideEffects: this.effects, mayEscape: this.escapes, breakSites: this.sites,
    };
  }

  private site(n: AnyNode): SourceSite {
    const loc = n.loc!.start;
    const text = this.source.slice(n.start - this.prefix, Math.min(n.end - this.prefix, n.start - this.prefix + 60)).replace(/\s+/g, ' ');
    return { line: loc.line, column: loc.line === 1 ? loc.column - this.prefix : loc.column, text: n.end - n.start > 60 ? `${text}...` : text };
  }

  private effect(kind: SideEffectKind, description: string, n: AnyNode, escapes = false): void {
    this.effects.push({ ...this.site(n), kind, description });
    if (escapes) this.escapes = true;
  }

  // ---- declarations ----

  /** `var` and function declarations anywhere in a function body belong to the function's scope. */
  private hoistVars(n: AnyNode, scope: Scope): void {
    if (n.type === 'VariableDeclaration' && n.kind === 'var') {
      for (const d of n.declarations) for (const name of patternNames(d.id)) scope.declare(name, this.bindingFor(d));
    }
    if (n.type === 'FunctionDeclaration') {
      if (n.id) scope.declare(n.id.name, { fresh: true, func: true });
      return;
    }
    if (isFunctionNode(n) || n.type === 'ClassExpression' || n.type === 'ClassDeclaration') return;
    for (const c of children(n)) this.hoistVars(c, scope);
  }

  /** let, const, class and function declarations directly in a block. */
  private hoistLexical(statements: readonly AnyNode[], scope: Scope): void {
    for (const s of statements) {
      if (s.type === 'VariableDeclaration' && s.kind !== 'var') {
        for (const d of s.declarations) for (const name of patternNames(d.id)) scope.declare(name, this.bindingFor(d));
      } else if (s.type === 'ClassDeclaration' && s.id) scope.declare(s.id.name, { fresh: true, func: false });
      else if (s.type === 'FunctionDeclaration' && s.id) scope.declare(s.id.name, { fresh: true, func: true });
    }
  }

  private bindingFor(d: acorn.VariableDeclarator): Binding {
    let init = d.init;
    // `const f = __name(() => ..., "f")` (esbuild keepNames) binds the function itself.
    if (init?.type === 'CallExpression' && init.callee.type === 'Identifier' && TOOLING_HELPERS.has(init.callee.name) && init.arguments[0]) {
      init = init.arguments[0] as typeof init;
    }
    const t = init?.type;
    return {
      fresh: t === 'ObjectExpression' || t === 'ArrayExpression' || t === 'NewExpression',
      func: t === 'FunctionExpression' || t === 'ArrowFunctionExpression',
    };
  }

  // ---- traversal ----

  private visitFunction(fn: FunctionNode, outer: Scope, top = false): void {
    const scope = new Scope(outer, true, fn.type === 'ArrowFunctionExpression');
    if (fn.type === 'FunctionExpression' && fn.id) scope.declare(fn.id.name, { fresh: true, func: true });
    for (const p of fn.params) for (const name of patternNames(p)) scope.declare(name);
    this.hoistVars(fn.body, scope);
    if (fn.body.type === 'BlockStatement') this.hoistLexical(fn.body.body, scope);
    for (const p of fn.params) this.visitPattern(p, scope);
    if (!top && fn.generator) this.escapes = true;
    if (fn.body.type === 'BlockStatement') for (const s of fn.body.body) this.visit(s, scope);
    else this.visit(fn.body, scope);
  }

  /** Default values and computed keys inside a binding pattern are expressions. */
  private visitPattern(p: AnyNode | null | undefined, scope: Scope): void {
    if (!p) return;
    switch (p.type) {
      case 'Identifier': return;
      case 'AssignmentPattern': this.visitPattern(p.left, scope); this.visit(p.right, scope); return;
      case 'ObjectPattern':
        for (const prop of p.properties) {
          if (prop.type === 'RestElement') this.visitPattern(prop.argument, scope);
          else {
            if (prop.computed) this.visit(prop.key, scope);
            this.visitPattern(prop.value, scope);
          }
        }
        return;
      case 'ArrayPattern': for (const e of p.elements) this.visitPattern(e, scope); return;
      case 'RestElement': this.visitPattern(p.argument, scope); return;
      default: this.visit(p, scope);
    }
  }

  /** The target of an assignment (already checked by `assignTarget`): its names are references. */
  private visitAssigned(p: AnyNode, scope: Scope): void {
    switch (p.type) {
      case 'Identifier': this.reference(p, scope); return;
      case 'MemberExpression': this.visit(p, scope); return;
      case 'AssignmentPattern': this.visitAssigned(p.left, scope); this.visit(p.right, scope); return;
      case 'RestElement': this.visitAssigned(p.argument, scope); return;
      case 'ArrayPattern': for (const e of p.elements) if (e) this.visitAssigned(e, scope); return;
      case 'ObjectPattern':
        for (const prop of p.properties) {
          if (prop.type === 'RestElement') this.visitAssigned(prop.argument, scope);
          else {
            if (prop.computed) this.visit(prop.key, scope);
            this.visitAssigned(prop.value, scope);
          }
        }
        return;
      default: this.visit(p, scope);
    }
  }

  private visitBlock(statements: readonly AnyNode[], outer: Scope): void {
    const scope = new Scope(outer, false);
    this.hoistLexical(statements, scope);
    for (const s of statements) this.visit(s, scope);
  }

  private visit(n: AnyNode | null | undefined, scope: Scope): void {
    if (!n) return;
    switch (n.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.visitFunction(n, scope);
        return;
      case 'BlockStatement':
      case 'StaticBlock':
        this.visitBlock(n.body, scope);
        return;
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const inner = new Scope(scope, false);
        const decl = n.type === 'ForStatement' ? n.init : n.left;
        if (decl?.type === 'VariableDeclaration' && decl.kind !== 'var') this.hoistLexical([decl], inner);
        for (const c of children(n)) {
          if (n.type !== 'ForStatement' && c === n.left && c.type !== 'VariableDeclaration') {
            this.assignTarget(c, inner);
            this.visitAssigned(c, inner);
          } else this.visit(c, inner);
        }
        return;
      }
      case 'CatchClause': {
        const inner = new Scope(scope, false);
        for (const name of patternNames(n.param)) inner.declare(name);
        this.visitPattern(n.param, inner);
        this.visit(n.body, inner);
        return;
      }
      case 'SwitchStatement': {
        this.visit(n.discriminant, scope);
        const inner = new Scope(scope, false);
        this.hoistLexical(n.cases.flatMap((c) => c.consequent), inner);
        for (const c of n.cases) {
          this.visit(c.test, inner);
          for (const s of c.consequent) this.visit(s, inner);
        }
        return;
      }
      case 'VariableDeclaration':
        for (const d of n.declarations) {
          this.visitPattern(d.id, scope);
          this.visit(d.init, scope);
        }
        return;
      case 'ClassDeclaration':
      case 'ClassExpression': {
        const inner = new Scope(scope, false);
        if (n.id) inner.declare(n.id.name, { fresh: true, func: false });
        this.visit(n.superClass, inner);
        for (const m of n.body.body) {
          if (m.type === 'StaticBlock') this.visit(m, inner);
          else {
            if (m.computed) this.visit(m.key, inner);
            this.visit(m.value, inner);
          }
        }
        return;
      }
      case 'Identifier':
        this.reference(n, scope);
        return;
      case 'ThisExpression': {
        const owner = ownerOf(scope);
        if (owner.parent === null) this.free.add('this'); // an arrow's `this` comes from where it was written
        else if (owner.parent.parent === null) this.usesThis = true;
        return;
      }
      case 'MemberExpression':
        this.member(n);
        if (n.object.type === 'Identifier' && IMPORT_NAMESPACE.test(n.object.name) && !scope.lookup(n.object.name)
          && !n.computed && n.property.type === 'Identifier') {
          this.free.add(n.property.name); // an imported binding, by the name the code was written with
          return;
        }
        this.visit(n.object, scope);
        if (n.computed) this.visit(n.property, scope);
        return;
      case 'Property':
        if (n.computed) this.visit(n.key, scope);
        this.visit(n.value, scope);
        return;
      case 'PropertyDefinition':
      case 'MethodDefinition':
        if (n.computed) this.visit(n.key, scope);
        this.visit(n.value, scope);
        return;
      case 'LabeledStatement':
        this.visit(n.body, scope);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
      case 'PrivateIdentifier':
      case 'Literal':
        return;
      case 'WithStatement':
        throw new OpaqueSource('it uses `with`, whose names cannot be resolved');
      case 'CallExpression':
        this.call(n, scope);
        this.visit(n.callee, scope);
        for (const a of n.arguments) this.visit(a, scope);
        return;
      case 'NewExpression':
        if (n.callee.type === 'Identifier' && !scope.lookup(n.callee.name)) {
          if (n.callee.name === 'Date') this.effect('nondeterminism', 'new Date() reads the clock', n);
          else if (n.callee.name === 'Function') throw new OpaqueSource('it builds code with `new Function`');
        }
        for (const c of children(n)) this.visit(c, scope);
        return;
      case 'TaggedTemplateExpression':
        this.unknownCall(n, scope, n.tag);
        this.visit(n.tag, scope);
        this.visit(n.quasi, scope);
        return;
      case 'AssignmentExpression':
        this.assignTarget(n.left, scope);
        this.visitAssigned(n.left, scope);
        this.visit(n.right, scope);
        return;
      case 'UpdateExpression':
        this.assignTarget(n.argument, scope);
        this.visit(n.argument, scope);
        return;
      case 'UnaryExpression':
        if (n.operator === 'delete') this.assignTarget(n.argument, scope);
        this.visit(n.argument, scope);
        return;
      case 'YieldExpression':
        this.escapes = true;
        this.visit(n.argument, scope);
        return;
      case 'ImportExpression':
        this.effect('io', 'import() loads a module', n, true);
        this.visit(n.source, scope);
        return;
      default:
        for (const c of children(n)) this.visit(c, scope);
    }
  }

  private reference(id: acorn.Identifier, scope: Scope): void {
    const name = id.name;
    if (scope.lookup(name)) return;
    if (name === 'arguments') {
      // An arrow's `arguments` are those of the function around it.
      if (ownerOf(scope).parent === null) this.free.add(name);
      return;
    }
    if (name === 'eval') throw new OpaqueSource('it uses `eval`');
    if (PURE_GLOBALS.has(name) || TOOLING_HELPERS.has(name)) return;
    const impure = IMPURE_GLOBALS[name];
    if (impure) {
      if (impure !== 'console') this.effect(impure, `uses ${name}`, id, impure === 'io' || impure === 'timer');
      return;
    }
    this.free.add(name);
  }

  private member(n: acorn.MemberExpression): void {
    if (n.computed || n.property.type !== 'Identifier') return;
    const obj = n.object;
    if (obj.type === 'Identifier' && obj.name === 'Math' && n.property.name === 'random') {
      this.effect('nondeterminism', 'Math.random() draws a new number on each call', n);
    }
  }

  private assignTarget(target: AnyNode, scope: Scope): void {
    if (target.type === 'Identifier') {
      if (!scope.lookup(target.name)) this.effect('assignment', `assigns outer variable \`${target.name}\``, target, true);
      return;
    }
    if (target.type === 'ObjectPattern' || target.type === 'ArrayPattern') {
      for (const name of patternNames(target)) {
        if (!scope.lookup(name)) this.effect('assignment', `assigns outer variable \`${name}\``, target, true);
      }
      for (const c of children(target)) if (c.type === 'MemberExpression') this.assignTarget(c, scope);
      return;
    }
    if (target.type === 'MemberExpression') {
      const root = rootOf(target);
      if (root.type === 'Identifier' && scope.lookup(root.name)?.fresh) return;
      const what = root.type === 'ThisExpression' ? 'this' : root.type === 'Identifier' ? root.name : 'an object';
      this.effect('assignment', `assigns a member of \`${what}\` (${this.site(target).text})`, target, true);
    }
  }

  private call(n: acorn.CallExpression, scope: Scope): void {
    const callee = n.callee.type === 'ChainExpression' ? n.callee.expression : n.callee;
    if (callee.type === 'Identifier') {
      const b = scope.lookup(callee.name);
      if (b) {
        if (!b.func) this.unknownCall(n, scope, callee);
        return;
      }
      if (this.known.has(callee.name)) return;
      if (callee.name === 'eval') throw new OpaqueSource('it uses `eval`');
      if (PURE_GLOBALS.has(callee.name) || TOOLING_HELPERS.has(callee.name) || IMPURE_GLOBALS[callee.name] || KILN_FUNCTIONS.has(callee.name)) {
        if (callee.name === 'manualSeed') this.effect('nondeterminism', 'manualSeed() resets the random stream', n);
        return;
      }
      this.unknownCall(n, scope, callee);
      return;
    }
    if (callee.type !== 'MemberExpression' || callee.computed || callee.property.type !== 'Identifier') {
      this.unknownCall(n, scope, callee);
      return;
    }
    const method = callee.property.name;
    const root = rootOf(callee);
    const rootName = root.type === 'Identifier' ? root.name : null;
    const rootLocal = rootName !== null && scope.lookup(rootName) !== undefined;
    if (rootName === 'console' && !rootLocal) {
      this.effect('console', `${this.site(callee).text}(...) prints`, n);
      return;
    }
    // Date.now(), performance.now(), ...: the use of the global is the side effect, recorded where it is read.
    if (rootName !== null && !rootLocal && IMPURE_GLOBALS[rootName]) return;
    if (READ_METHODS.has(method) || (method.endsWith('_') && KNOWN_METHODS.has(method))) this.sites.push(this.site(n));
    if (MUTATING_METHODS.has(method)) {
      if (!(rootLocal && scope.lookup(rootName!)!.fresh)) {
        const what = root.type === 'ThisExpression' ? 'this' : rootName ?? 'an object';
        this.effect('mutation', `${this.site(callee).text}(...) changes \`${what}\``, n, true);
      }
      return;
    }
    if (HIGHER_ORDER.has(method)) {
      // The callback runs too: fine when it is written here, unknown when it comes from elsewhere.
      const cb = n.arguments[0];
      const local = cb && (isFunctionNode(cb) || (cb.type === 'Identifier' && (scope.lookup(cb.name)?.func || (!scope.lookup(cb.name) && this.known.has(cb.name)))));
      if (cb && !local) this.unknownCall(n, scope, cb);
      return;
    }
    if (KNOWN_METHODS.has(method)) return;
    if (KILN_FUNCTIONS.has(method) && rootName !== null && !rootLocal) return;
    this.unknownCall(n, scope, callee);
  }

  /** A call into code the analysis does not see: it may do anything, including keeping its arguments. */
  private unknownCall(n: AnyNode, _scope: Scope, callee: AnyNode): void {
    this.effect('call', `calls ${this.site(callee).text}(), whose code is not analyzed`, n, true);
  }
}
