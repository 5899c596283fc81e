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

import { F, Tensor } from '@kiln/eager';
import type * as acorn from 'acorn';
import { isNativeSource, parseFunction, sourceOf } from './function-source';
import type { Binding, FunctionNode, Scope, ScopeAnalysis } from './scope';
import { analyzeScopes, children, isFunctionNode, patternNames } from './scope';
import { IMPORT_NAMESPACE, TOOLING_HELPERS } from './tooling';

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

/**
 * A call through a static member chain from the function's own `this`, a
 * parameter or a free variable: `this.fc1.forward(h)`, `m.forward(x)`,
 * `model.forward(x)`. Where the tracer can see the values (a module, the
 * arguments, a closure passed by the load-time transform), it finds the
 * method called and analyzes its code too (see ../guards/code).
 */
export interface MemberCall {
  readonly root: 'this' | 'param' | 'free';
  /** The parameter or free variable the chain starts from (`'this'` for this). */
  readonly name: string;
  /** The keys read, the method's last. */
  readonly keys: readonly string[];
  /** The chain as written (`this.fc1.forward`): its key in `analyzeSource`'s verdicts. */
  readonly text: string;
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
  /** Calls through member chains from `this`, a parameter or a free variable, in source order. */
  readonly memberCalls: readonly MemberCall[];
}

/** Globals that neither have side effects nor change between calls. */
const PURE_GLOBALS = new Set([
  'Math',
  'Number',
  'String',
  'Boolean',
  'Array',
  'Object',
  'JSON',
  'Infinity',
  'NaN',
  'undefined',
  'isNaN',
  'isFinite',
  'parseInt',
  'parseFloat',
  'Symbol',
  'BigInt',
  'Error',
  'TypeError',
  'RangeError',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'Promise',
  'Reflect',
  'Float32Array',
  'Float64Array',
  'Int32Array',
  'Uint8Array',
  'Uint32Array',
  'Int8Array',
  'Int16Array',
  'Uint16Array',
  'ArrayBuffer',
  'RegExp',
]);

/** Globals whose use is itself a side effect (or reads something that changes between calls). */
const IMPURE_GLOBALS: Record<string, SideEffectKind> = {
  console: 'console',
  Date: 'nondeterminism',
  performance: 'nondeterminism',
  crypto: 'nondeterminism',
  setTimeout: 'timer',
  setInterval: 'timer',
  setImmediate: 'timer',
  queueMicrotask: 'timer',
  requestAnimationFrame: 'timer',
  clearTimeout: 'timer',
  clearInterval: 'timer',
  fetch: 'io',
  XMLHttpRequest: 'io',
  WebSocket: 'io',
  process: 'io',
  require: 'io',
  localStorage: 'io',
  sessionStorage: 'io',
  document: 'io',
  window: 'io',
  globalThis: 'io',
  self: 'io',
  navigator: 'io',
  alert: 'io',
  postMessage: 'io',
  structuredClone: 'call',
};

/** Array methods that change the array they are called on. */
const MUTATING_METHODS = new Set([
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
  'set',
  'delete',
  'clear',
]);

/** Methods that call a function they are given. */
const HIGHER_ORDER = new Set([
  'map',
  'forEach',
  'filter',
  'reduce',
  'reduceRight',
  'some',
  'every',
  'find',
  'findIndex',
  'findLast',
  'findLastIndex',
  'flatMap',
  'then',
  'catch',
  'finally',
  'from',
]);

/** Statics that change their arguments. */
const MUTATING_STATICS = new Set(['assign', 'defineProperty', 'defineProperties', 'setPrototypeOf', 'freeze', 'seal', 'preventExtensions']);

/** Methods whose code is known not to store their arguments or touch anything outside their receiver. */
const KNOWN_METHODS = new Set<string>(
  [
    ...Object.getOwnPropertyNames(Tensor.prototype),
    ...Object.getOwnPropertyNames(Array.prototype),
    ...Object.getOwnPropertyNames(String.prototype),
    ...Object.getOwnPropertyNames(Number.prototype),
    ...Object.getOwnPropertyNames(Object.prototype),
    ...Object.getOwnPropertyNames(Math),
    ...Object.getOwnPropertyNames(Object),
    ...Object.getOwnPropertyNames(Array),
    ...Object.getOwnPropertyNames(Number),
    'then',
    'catch',
    'finally',
    'parse',
    'stringify',
  ].filter((m) => !MUTATING_METHODS.has(m) && !MUTATING_STATICS.has(m)),
);

/** kiln's own free functions and the functional namespace: calling them stores nothing. */
const KILN_FUNCTIONS = new Set([
  ...Object.keys(F),
  'tensor',
  'zeros',
  'ones',
  'full',
  'arange',
  'rand',
  'randn',
  'cat',
  'stack',
  'where',
  'matmul',
  'split',
  'tidy',
]);

const READ_METHODS = new Set(['item', 'data', 'toArray']);

/** Tensor methods that change autograd state outside the call: backward() adds into the `.grad` of leaves anywhere. */
const GRAD_METHODS = new Set(['backward', 'requiresGrad_']);

const cache = new WeakMap<object, SourceInfo>();

/** The analysis of `fn` (cached per function object). */
export function analyzeFunction(fn: (...args: never[]) => unknown): SourceInfo {
  let info = cache.get(fn);
  if (!info) {
    info = analyzeSource(sourceOf(fn), fn.name);
    cache.set(fn, info);
  }
  return info;
}

/**
 * The analysis of a function's source text (what `fn.toString()` returns).
 * `knownFunctions`: free names bound to functions whose code was analyzed
 * elsewhere and found to have no side effects (closure helpers guarded
 * through the load-time transform): calling them is not an unknown call.
 * `knownCalls`: verdicts on member calls (`MemberCall.text`) whose method
 * was found and analyzed: null, calling it is as safe as this code; else
 * why not ("has a side effect at line 2: ..."), which makes it a side effect.
 */
export function analyzeSource(
  source: string,
  name = '',
  knownFunctions: ReadonlySet<string> = new Set(),
  knownCalls: ReadonlyMap<string, string | null> = new Map(),
): SourceInfo {
  const opaque = (why: string): SourceInfo => ({
    source,
    name,
    opaque: why,
    params: [],
    isAsync: false,
    isGenerator: false,
    usesThis: false,
    freeVariables: [],
    sideEffects: [],
    mayEscape: true,
    breakSites: [],
    memberCalls: [],
  });
  if (isNativeSource(source)) return opaque('a native or bound function: its source is not available');
  const parsed = parseFunction(source);
  if (!parsed) return opaque('its source could not be parsed');
  try {
    return new Analyzer(source, name, parsed.fn, parsed.prefix, knownFunctions, knownCalls).result();
  } catch (e) {
    if (e instanceof OpaqueSource) return opaque(e.message);
    return opaque(`its source could not be analyzed (${e instanceof Error ? e.message : String(e)})`);
  }
}

class OpaqueSource extends Error {}

/** What the side-effect rules need to know of a local variable. */
interface Facts {
  /** Holds a literal, a `new` object, a function or class it declares: the function made it, so changing its members is local. */
  readonly fresh: boolean;
  /** A local function: calling it runs code this analysis reads. */
  readonly func: boolean;
}

const OPAQUE_LOCAL: Facts = { fresh: false, func: false };

function factsOf(b: Binding): Facts {
  switch (b.kind) {
    case 'function':
      return { fresh: true, func: true };
    case 'class':
      return { fresh: true, func: false };
    case 'self':
      return { fresh: true, func: b.init !== null && isFunctionNode(b.init) };
    case 'var':
    case 'let':
    case 'const':
      return initFacts(b.init);
    default:
      return OPAQUE_LOCAL;
  }
}

function initFacts(init: AnyNode | null): Facts {
  const t = init?.type;
  return {
    fresh: t === 'ObjectExpression' || t === 'ArrayExpression' || t === 'NewExpression',
    func: t === 'FunctionExpression' || t === 'ArrowFunctionExpression',
  };
}

type AnyNode = acorn.AnyNode;

/** The leftmost object of a member chain (`a` in `a.b[c].d`). */
function rootOf(e: AnyNode): AnyNode {
  let n = e;
  while (n.type === 'MemberExpression' || n.type === 'ChainExpression') n = n.type === 'ChainExpression' ? n.expression : n.object;
  return n;
}

/**
 * Walks the function once for side effects, escapes and break sites. Which
 * names are local, and what they hold, comes from the scope analysis the
 * load-time transform uses (./scope): an identifier it does not
 * list as a reference (a declaration, a property name, a label) is none.
 */
class Analyzer {
  private readonly free = new Set<string>();
  private readonly effects: SideEffect[] = [];
  private readonly sites: SourceSite[] = [];
  private readonly memberCalls: MemberCall[] = [];
  private usesThis = false;
  private escapes = false;
  private readonly scopes: ScopeAnalysis;

  constructor(
    private readonly source: string,
    private readonly name: string,
    private readonly fn: FunctionNode,
    private readonly prefix: number,
    private readonly known: ReadonlySet<string> = new Set(),
    private readonly knownCalls: ReadonlyMap<string, string | null> = new Map(),
  ) {
    this.scopes = analyzeScopes(fn);
  }

  result(): SourceInfo {
    this.visitFunction(this.fn, true);
    return {
      source: this.source,
      name: this.name,
      opaque: null,
      params: this.fn.params.map((p) => ({
        name:
          p.type === 'Identifier'
            ? p.name
            : p.type === 'AssignmentPattern' && p.left.type === 'Identifier'
              ? p.left.name
              : p.type === 'RestElement' && p.argument.type === 'Identifier'
                ? p.argument.name
                : null,
        rest: p.type === 'RestElement',
      })),
      isAsync: this.fn.async,
      isGenerator: this.fn.generator,
      usesThis: this.usesThis,
      freeVariables: [...this.free],
      sideEffects: this.effects,
      mayEscape: this.escapes,
      breakSites: this.sites,
      memberCalls: this.memberCalls,
    };
  }

  private site(n: AnyNode): SourceSite {
    const loc = n.loc!.start;
    const text = this.source.slice(n.start - this.prefix, Math.min(n.end - this.prefix, n.start - this.prefix + 60)).replace(/\s+/g, ' ');
    return {
      line: loc.line,
      column: loc.line === 1 ? loc.column - this.prefix : loc.column,
      text: n.end - n.start > 60 ? `${text}...` : text,
    };
  }

  private effect(kind: SideEffectKind, description: string, n: AnyNode, escapes = false): void {
    this.effects.push({ ...this.site(n), kind, description });
    if (escapes) this.escapes = true;
  }

  /** The variable of the function's own that `n` names, or null (a global, or not a name). */
  private local(n: AnyNode): Facts | null {
    const b = n.type === 'Identifier' ? this.scopes.referenceOf(n)?.binding : null;
    return b ? factsOf(b) : null;
  }

  // ---- traversal ----

  private visitFunction(fn: FunctionNode, top = false): void {
    if (!top && fn.generator) this.escapes = true;
    const scope = this.scopes.scopeOf(fn)!;
    for (const c of children(fn)) this.visit(c, scope);
  }

  /** `fnScope`: the scope of the function `n` is in, which decides what `this` is. */
  private visit(n: AnyNode | null | undefined, fnScope: Scope): void {
    if (!n) return;
    switch (n.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.visitFunction(n);
        return;
      case 'ForInStatement':
      case 'ForOfStatement':
        if (n.left.type !== 'VariableDeclaration') this.assignTarget(n.left);
        break;
      case 'Identifier':
        this.reference(n);
        return;
      case 'ThisExpression': {
        const owner = fnScope.thisScope;
        if (owner === this.scopes.root)
          this.free.add('this'); // an arrow's `this` comes from where it was written
        else if (owner === this.scopes.scopeOf(this.fn)) this.usesThis = true;
        return;
      }
      case 'MemberExpression':
        this.member(n);
        if (
          n.object.type === 'Identifier' &&
          IMPORT_NAMESPACE.test(n.object.name) &&
          !this.local(n.object) &&
          !n.computed &&
          n.property.type === 'Identifier'
        ) {
          this.free.add(n.property.name); // an imported binding, by the name the code was written with
          return;
        }
        break;
      case 'WithStatement':
        throw new OpaqueSource('it uses `with`, whose names cannot be resolved');
      case 'CallExpression':
        this.call(n, fnScope);
        break;
      case 'NewExpression':
        if (n.callee.type === 'Identifier' && !this.local(n.callee)) {
          if (n.callee.name === 'Date') this.effect('nondeterminism', 'new Date() reads the clock', n);
          else if (n.callee.name === 'Function') throw new OpaqueSource('it builds code with `new Function`');
        }
        break;
      case 'TaggedTemplateExpression':
        this.unknownCall(n, n.tag);
        break;
      case 'AssignmentExpression':
        this.assignTarget(n.left);
        break;
      case 'UpdateExpression':
        this.assignTarget(n.argument);
        break;
      case 'UnaryExpression':
        if (n.operator === 'delete') this.assignTarget(n.argument);
        break;
      case 'YieldExpression':
        this.escapes = true;
        break;
      case 'ImportExpression':
        this.effect('io', 'import() loads a module', n, true);
        this.visit(n.source, fnScope);
        return;
      default:
        break;
    }
    for (const c of children(n)) this.visit(c, fnScope);
  }

  private reference(id: acorn.Identifier): void {
    const r = this.scopes.referenceOf(id);
    if (!r || r.binding) return; // a declaration or property name, or a local
    const name = id.name;
    // An arrow's `arguments` are those of the function around it.
    if (name === 'arguments') {
      this.free.add(name);
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

  private assignTarget(target: AnyNode): void {
    if (target.type === 'Identifier') {
      if (!this.local(target)) this.effect('assignment', `assigns outer variable \`${target.name}\``, target, true);
      return;
    }
    if (target.type === 'ObjectPattern' || target.type === 'ArrayPattern') {
      for (const id of patternNames(target)) {
        if (!this.local(id)) this.effect('assignment', `assigns outer variable \`${id.name}\``, target, true);
      }
      for (const c of children(target)) if (c.type === 'MemberExpression') this.assignTarget(c);
      return;
    }
    if (target.type === 'MemberExpression') {
      const root = rootOf(target);
      if (this.local(root)?.fresh) return;
      const what = root.type === 'ThisExpression' ? 'this' : root.type === 'Identifier' ? root.name : 'an object';
      this.effect('assignment', `assigns a member of \`${what}\` (${this.site(target).text})`, target, true);
    }
  }

  /** The member chain `callee` is, when it starts from this function's own `this`, one of its parameters or a free variable. */
  private memberChain(callee: acorn.MemberExpression, fnScope: Scope): MemberCall | null {
    const keys: string[] = [];
    let node: AnyNode = callee;
    while (node.type === 'MemberExpression') {
      if (node.computed || node.property.type !== 'Identifier' || node.optional) return null;
      keys.unshift(node.property.name);
      node = node.object;
    }
    if (node.type === 'ThisExpression') {
      return fnScope.thisScope === this.scopes.scopeOf(this.fn)
        ? { root: 'this', name: 'this', keys, text: ['this', ...keys].join('.') }
        : null;
    }
    if (node.type !== 'Identifier') return null;
    const r = this.scopes.referenceOf(node);
    if (!r) return null;
    let name = node.name;
    if (r.binding === null && IMPORT_NAMESPACE.test(name)) {
      // `__vi_import_0__.model.forward`: the import `model`
      if (keys.length < 2) return null;
      name = keys.shift()!;
    }
    const root =
      r.binding === null ? 'free' : r.binding.kind === 'param' && r.binding.scope === this.scopes.scopeOf(this.fn) ? 'param' : null;
    if (root === null || (root === 'free' && (PURE_GLOBALS.has(name) || IMPURE_GLOBALS[name] || TOOLING_HELPERS.has(name)))) return null;
    return { root, name, keys, text: [name, ...keys].join('.') };
  }

  private call(n: acorn.CallExpression, fnScope: Scope): void {
    const callee = n.callee.type === 'ChainExpression' ? n.callee.expression : n.callee;
    if (callee.type === 'Identifier') {
      const b = this.local(callee);
      if (b) {
        if (!b.func) this.unknownCall(n, callee);
        return;
      }
      if (this.known.has(callee.name)) return;
      if (callee.name === 'eval') throw new OpaqueSource('it uses `eval`');
      if (
        PURE_GLOBALS.has(callee.name) ||
        TOOLING_HELPERS.has(callee.name) ||
        IMPURE_GLOBALS[callee.name] ||
        KILN_FUNCTIONS.has(callee.name)
      ) {
        if (callee.name === 'manualSeed') this.effect('nondeterminism', 'manualSeed() resets the random stream', n);
        if (callee.name === 'tidy') this.callback(n); // tidy(fn) runs fn
        return;
      }
      this.unknownCall(n, callee);
      return;
    }
    if (callee.type !== 'MemberExpression' || callee.computed || callee.property.type !== 'Identifier') {
      this.unknownCall(n, callee);
      return;
    }
    const method = callee.property.name;
    const root = rootOf(callee);
    const rootName = root.type === 'Identifier' ? root.name : null;
    const rootFacts = this.local(root);
    if (rootName === 'console' && !rootFacts) {
      this.effect('console', `${this.site(callee).text}(...) prints`, n);
      return;
    }
    // Date.now(), performance.now(), ...: the use of the global is the side effect, recorded where it is read.
    if (rootName !== null && !rootFacts && IMPURE_GLOBALS[rootName]) return;
    if (READ_METHODS.has(method) || (method.endsWith('_') && KNOWN_METHODS.has(method))) this.sites.push(this.site(n));
    if (GRAD_METHODS.has(method)) {
      this.effect('mutation', `${this.site(callee).text}() changes gradients outside the function (.grad, requiresGrad)`, n, true);
      return;
    }
    const chain = this.memberChain(callee, fnScope);
    if (chain) {
      this.memberCalls.push(chain);
      const verdict = this.knownCalls.get(chain.text);
      if (verdict === null) return;
      if (verdict !== undefined) {
        this.effect('call', `calls ${chain.text}(), which ${verdict}`, n, true);
        return;
      }
    }
    if (MUTATING_METHODS.has(method)) {
      if (!rootFacts?.fresh) {
        const what = root.type === 'ThisExpression' ? 'this' : (rootName ?? 'an object');
        this.effect('mutation', `${this.site(callee).text}(...) changes \`${what}\``, n, true);
      }
      return;
    }
    if (HIGHER_ORDER.has(method)) {
      this.callback(n);
      return;
    }
    if (KNOWN_METHODS.has(method)) return;
    if (KILN_FUNCTIONS.has(method) && rootName !== null && !rootFacts) return;
    this.unknownCall(n, callee);
  }

  /** A call that runs the function it is given first: fine when that is written here (or known), unknown when it comes from elsewhere. */
  private callback(n: acorn.CallExpression): void {
    const cb = n.arguments[0];
    const local =
      cb && (isFunctionNode(cb) || (cb.type === 'Identifier' && (this.local(cb)?.func || (!this.local(cb) && this.known.has(cb.name)))));
    if (cb && !local) this.unknownCall(n, cb);
  }

  /** A call into code the analysis does not see: it may do anything, including keeping its arguments. */
  private unknownCall(n: AnyNode, callee: AnyNode): void {
    this.effect('call', `calls ${this.site(callee).text}(), whose code is not analyzed`, n, true);
  }
}
