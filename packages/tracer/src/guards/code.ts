/**
 * What the compiled code reads and calls, found with the values of the
 * call being traced, and whether skipping it (replay) could be noticed.
 *
 * The source analysis (../source/analysis) reads one function's text; this
 * follows the code it calls, with the values it calls it on:
 *
 * - helpers read from the closure the load-time transform passes (see
 *   ./closure): `mlp(x)` runs `mlp`'s code, analyzed like `fn`'s;
 * - methods reached by a member chain from `this` (a module), a parameter
 *   or a closure variable: `this.fc1.forward(h)`, `m.forward(x)`,
 *   `model.forward(x)`. The chain is read (data properties only, see
 *   ./property-reads) down to the function; its code is analyzed with
 *   `this` being the object it is called on, recursively. A method on a
 *   prototype is guarded by identity; the objects on the way are guarded
 *   whole (arguments and modules already are: ./guards).
 *
 * A function's free variables are guarded through the closure record only
 * where they mean what the transform saw: for the function compiled and the
 * helpers and objects of its closure, the names the transform passed; for
 * a method of a class, the names the transform passed for that class,
 * found by its prototype (`classes`). Anything else it reads from outside
 * makes the entry re-run, with the reason.
 */
import * as eager from '@kiln/eager';
import { Tensor } from '@kiln/eager';
import type { ParamName, SourceInfo } from '../source/analysis';
import { analyzeFunction, analyzeSource } from '../source/analysis';
import type { FieldUse } from '../source/fields-read';
import { fieldsRead } from '../source/fields-read';
import { isNative } from '../source/function-source';
import type { Closure } from './closure';
import type { Getter, GuardWriter, Roots } from './guards';
import { childPath } from './guards';
import { isInspectable, readData } from './property-reads';

type AnyFunction = (...args: never[]) => unknown;

/** What a cache entry knows about the code it traced: the analysis with what it calls resolved, guards, and reasons to re-run. */
export interface CodePlan {
  /** The compiled function's analysis, with the helpers and methods it calls analyzed (calling them is not an unknown call). */
  readonly source: SourceInfo;
  /** Why hits must re-run the JavaScript beyond `source`'s side effects: what it reads that cannot be guarded. */
  readonly reasons: readonly string[];
  /** The closure variables guarded, as the report names them; null without a closure record. */
  readonly guarded: readonly string[] | null;
  /** The methods whose code was analyzed with the objects they are called on (`model.fc1.forward`), as the report names them. */
  readonly methods: readonly string[];
  /** Adds the guards the plan relies on (closure values, methods by identity). */
  guard(w: GuardWriter): void;
}

/** Where a value the code calls into comes from. */
interface Place {
  readonly value: unknown;
  readonly path: string;
  readonly get: Getter;
}

/**
 * Which free variables of a function can be guarded: `kiln`, all (a method
 * of one of kiln's classes, `nn.Linear.forward`: library code, whose free
 * names are kiln's own imports); `closure`, the names the transform passed
 * for the compiled function; `class`, those passed for that class; `none`,
 * none (and why).
 */
type Home =
  | { readonly kind: 'kiln' }
  | { readonly kind: 'closure' }
  | { readonly kind: 'class'; readonly names: ReadonlySet<string> }
  | { readonly kind: 'none'; readonly why: string; readonly unseen?: string };

const NO_TRANSFORM = 'not guarded without the load-time transform';

/** kiln's own functions: library code, trusted like an import from @kiln (`const act = F.gelu`). */
let kilnFunctions: WeakSet<object> | null = null;

function isKilnFunction(f: object): boolean {
  if (!kilnFunctions) {
    kilnFunctions = new WeakSet();
    for (const v of [...Object.values(eager), ...Object.values(eager.F)]) if (typeof v === 'function') kilnFunctions.add(v);
    for (const d of Object.values(Object.getOwnPropertyDescriptors(Tensor.prototype))) {
      if (typeof d.value === 'function') kilnFunctions.add(d.value as object);
    }
  }
  return kilnFunctions.has(f);
}

/** The prototypes of kiln's exported classes (`nn.Linear`, `nn.Module`): their methods are library code. */
let kilnPrototypes: WeakSet<object> | null = null;

function isKilnPrototype(o: unknown): boolean {
  if (!kilnPrototypes) {
    kilnPrototypes = new WeakSet();
    for (const v of [...Object.values(eager), ...Object.values(eager.nn), ...Object.values(eager.optim)]) {
      const proto = typeof v === 'function' ? readData(v, 'prototype') : undefined;
      if (isInspectable(proto)) kilnPrototypes.add(proto);
    }
  }
  return isInspectable(o) && kilnPrototypes.has(o);
}

/** Field paths as a tree: `'whole'` where the value itself is used. */
type FieldTree = Map<string, FieldTree | 'whole'>;

/**
 * Plans the code `fn` runs when called with `roots`: `self`, the module it
 * is called on (null for a plain function); `params`, its parameters by the
 * names guards give them; `closure`, what the load-time transform passed.
 */
export function planCode(
  fn: AnyFunction,
  roots: Roots,
  self: Place | null,
  params: readonly ParamName[],
  closure: Closure | null,
): CodePlan {
  return new Planner(roots, closure).plan(fn, self, params);
}

class Planner {
  /** Closure variables read, and which of their fields. */
  private readonly uses = new Map<string, FieldUse>();
  /** Methods found on prototypes, guarded by identity. */
  private readonly methods = new Map<string, { get: Getter; fn: object }>();
  /** Every method analyzed and found safe, by path. */
  private readonly analyzed = new Set<string>();
  /** Per function and the object it is called on (null: called plainly): null when calling it is as safe to skip as `fn`, else why not. */
  private readonly verdicts = new Map<AnyFunction, Map<unknown, string | null>>();

  constructor(
    private readonly roots: Roots,
    private readonly closure: Closure | null,
  ) {}

  plan(fn: AnyFunction, self: Place | null, params: readonly ParamName[]): CodePlan {
    const reasons: string[] = [];
    const home = self ? this.homeOf(self.value, ownerOf(self.value, 'forward'), true) : this.topHome();
    const args: (Place | null)[] = params.map((p, i) =>
      p.name === null || p.rest ? null : { value: this.roots.args[i], path: p.name, get: (r: Roots) => r.args[i] },
    );
    const source = this.analyze(fn, home, self, args, reasons, true);
    const entries = [...this.uses].map(([name, fields]) => ({ name, fields, i: this.closure!.indexOf(name)! }));
    const methods = [...this.methods];
    const values = this.roots.closure ?? [];
    return {
      source,
      reasons,
      guarded: this.closure ? entries.map((e) => e.name) : null,
      methods: [...this.analyzed],
      guard: (w) => {
        for (const e of entries) {
          const get: Getter = (r) => r.closure![e.i];
          guardValue(w, values[e.i], e.name, get, e.fields === 'whole' ? 'whole' : tree(e.fields));
        }
        for (const [path, m] of methods) w.identity(m.fn, path, m.get);
      },
    };
  }

  /** The home of the compiled function when it is not a module's method. */
  private topHome(): Home {
    const c = this.closure;
    if (!c) return { kind: 'none', why: NO_TRANSFORM };
    if (c.unseen !== undefined) return { kind: 'none', why: 'not guarded: the load-time transform could not see it', unseen: c.unseen };
    return { kind: 'closure' };
  }

  /**
   * Whose names a function called on `receiver` may read, `owner` being
   * the object that holds it (the receiver, or a prototype): kiln's, for a
   * method of one of kiln's classes; a class's, for a method on the
   * prototype of a class the transform passed; the closure's, for a
   * function of a plain object the transform saw (`viaClosure`: the module
   * given to compile, an object in its closure); else none. A function
   * stored on a class instance itself could come from anywhere: none.
   */
  private homeOf(receiver: unknown, owner: unknown, viaClosure: boolean): Home {
    if (owner !== receiver && isKilnPrototype(owner)) return { kind: 'kiln' };
    const c = this.closure;
    if (!c) return { kind: 'none', why: NO_TRANSFORM };
    const k = owner !== receiver ? this.classNamed(owner) : null;
    if (k !== null) return { kind: 'class', names: new Set(c.classNames(k)) };
    const plain = receiver === undefined || (isInspectable(receiver) && [Object.prototype, null].includes(Object.getPrototypeOf(receiver)));
    if (viaClosure && plain) {
      return c.unseen === undefined
        ? { kind: 'closure' }
        : { kind: 'none', why: 'not guarded: the load-time transform could not see it', unseen: c.unseen };
    }
    const holder = owner !== receiver ? owner : isInspectable(receiver) ? Object.getPrototypeOf(receiver) : undefined;
    const cls = readData(readData(holder, 'constructor'), 'name');
    return {
      kind: 'none',
      why:
        owner === receiver
          ? 'not guarded: a function stored on an object may have been written anywhere'
          : typeof cls === 'string' && cls !== '' && cls !== 'Object'
            ? `not guarded: the class ${cls} is not declared in the module that compiles it, so the load-time transform could not pass what it reads`
            : 'not guarded: the load-time transform did not see this function',
    };
  }

  /** The name of the class the transform passed whose prototype `proto` is; null if none. */
  private classNamed(proto: unknown): string | null {
    const c = this.closure!;
    const values = this.roots.closure ?? [];
    for (const k of c.classes) {
      const i = c.indexOf(k);
      const C = i === undefined ? undefined : values[i];
      if (typeof C === 'function' && readData(C, 'prototype') === proto) return k;
    }
    return null;
  }

  /**
   * `f`'s analysis with what it calls resolved: its free variables looked
   * up by `home`, its member calls followed from `self` (its `this`),
   * `args` (the compiled function's arguments) and the closure. What
   * cannot be guarded is pushed to `problems`.
   */
  private analyze(
    f: AnyFunction,
    home: Home,
    self: Place | null,
    args: readonly (Place | null)[],
    problems: string[],
    top: boolean,
  ): SourceInfo {
    const base = analyzeFunction(f);
    if (base.opaque !== null) {
      if (!top) problems.push(base.opaque);
      return base;
    }
    const safe = this.freeVariables(f, base, home, problems, top);
    const calls = new Map<string, string | null>();
    for (const call of base.memberCalls) {
      if (calls.has(call.text)) continue;
      let root: Place | null = null;
      let viaClosure = false;
      if (call.root === 'this') {
        root = self;
        viaClosure = top;
      } else if (call.root === 'param') {
        const i = base.params.findIndex((p) => p.name === call.name);
        root = top && i >= 0 ? (args[i] ?? null) : null;
      } else if ((home.kind === 'closure' || (home.kind === 'class' && home.names.has(call.name))) && !this.closure!.isKiln(call.name)) {
        const i = this.closure!.indexOf(call.name);
        if (i !== undefined) {
          root = { value: this.roots.closure![i], path: call.name, get: (r) => r.closure![i] };
          viaClosure = true;
        }
      }
      if (!root) continue;
      const found = this.method(root, call.keys);
      // Built-ins (an array's map, a Map's get) are the source analysis's to judge, by name.
      if (!found || isNative(found.fn)) continue;
      if (isKilnFunction(found.fn)) {
        calls.set(call.text, null);
        continue;
      }
      const why = this.verdict(found.fn, this.homeOf(found.receiver.value, found.owner, viaClosure), found.receiver);
      calls.set(call.text, why);
      if (why !== null) continue;
      if (call.root === 'free') this.use(call.name, 'whole'); // the method reads what it likes of it: guard all of it
      if (found.inherited) this.methods.set(found.path, { get: found.get, fn: found.fn });
      this.analyzed.add(found.path);
    }
    return safe.size > 0 || calls.size > 0 ? analyzeSource(base.source, base.name, safe, calls) : base;
  }

  /** The function at `keys` below `root`, and the object it is called on; null when the chain does not reach a function (or reads a getter). */
  private method(
    root: Place,
    keys: readonly string[],
  ): { fn: AnyFunction; receiver: Place; owner: object; path: string; get: Getter; inherited: boolean } | null {
    let receiver = root;
    for (let k = 0; k < keys.length - 1; k++) {
      const key = keys[k]!;
      const at = receiver;
      receiver = { value: readData(at.value, key), path: childPath(at.path, key), get: (r) => readData(at.get(r), key) };
    }
    const last = keys.at(-1)!;
    const o = receiver.value;
    if (!isInspectable(o)) return null;
    const fn = readData(o, last);
    const owner = ownerOf(o, last);
    if (typeof fn !== 'function' || owner === null) return null;
    const at = receiver;
    return {
      fn: fn as AnyFunction,
      receiver,
      owner,
      path: childPath(at.path, last),
      get: (r) => readData(at.get(r), last),
      inherited: !Object.hasOwn(o, last),
    };
  }

  /** Guards what `f` reads of its closure (by `home`); returns the names of the functions it calls that are safe. */
  private freeVariables(f: AnyFunction, base: SourceInfo, home: Home, problems: string[], top: boolean): Set<string> {
    const safe = new Set<string>();
    const c = this.closure;
    const unguarded: string[] = [];
    // At the top these are the entry's reasons; below, what `which ...` says of a helper or method.
    const lead = top ? 'closure: it ' : '';
    const fields = home.kind === 'none' ? null : fieldsRead(f);
    for (const name of base.freeVariables) {
      if (home.kind === 'kiln') continue; // kiln's own imports
      const allowed = home.kind === 'closure' || (home.kind === 'class' && home.names.has(name));
      if (c && allowed && c.isKiln(name)) continue;
      const i = allowed ? c!.indexOf(name) : undefined;
      if (i === undefined) {
        if (home.kind === 'closure' && c!.isGlobal(name))
          problems.push(`${lead}reads the global \`${name}\`, which the load-time transform does not guard`);
        else if (home.kind === 'closure')
          problems.push(
            `${lead}reads \`${name}\`, which the load-time transform did not pass (declared where the compile call cannot see it)`,
          );
        else unguarded.push(name);
        continue;
      }
      this.use(name, fields?.get(name) ?? 'whole');
      const v = this.roots.closure![i];
      if (typeof v !== 'function') continue;
      const why = isKilnFunction(v) ? null : this.verdict(v as AnyFunction, this.homeOf(undefined, undefined, true), null);
      if (why === null) safe.add(name);
      else problems.push(`${lead}uses \`${name}\`, which ${why}`);
    }
    if (unguarded.length > 0) {
      const why = home.kind === 'none' ? home.why : 'not guarded: the load-time transform did not pass them for its class';
      if (!top) problems.push(`reads ${unguarded.map((n) => `\`${n}\``).join(', ')} (${why})`);
      else if (home.kind === 'none' && home.unseen !== undefined)
        problems.push(
          `free variables not guarded, since the load-time transform could not see the function given to compile (${home.unseen}): ${unguarded.join(', ')}`,
        );
      else problems.push(`free variables (${why}): ${unguarded.join(', ')}`);
    }
    return safe;
  }

  /** Null when calling `f` on `self` (null: plainly) is as safe to skip as `fn`'s own code, else why not. */
  private verdict(f: AnyFunction, home: Home, self: Place | null): string | null {
    let byReceiver = this.verdicts.get(f);
    if (!byReceiver) this.verdicts.set(f, (byReceiver = new Map()));
    const key = self?.value ?? null;
    const known = byReceiver.get(key);
    if (known !== undefined) return known;
    byReceiver.set(key, null); // recursion: assume safe while looking
    const problems: string[] = [];
    const info = this.analyze(f, home, self, [], problems, false);
    const effect = info.sideEffects[0];
    let why: string | null = null;
    if (problems.length > 0) why = problems[0]!;
    else if (effect) why = `has a side effect at line ${effect.line}: ${effect.description}`;
    else if (info.usesThis && self === null) why = 'uses `this`';
    else if (info.isGenerator || info.isAsync) why = `is ${info.isGenerator ? 'a generator' : 'async'}`;
    else if (info.mayEscape) why = 'may keep a value it computes';
    byReceiver.set(key, why);
    return why;
  }

  private use(name: string, fields: FieldUse): void {
    const known = this.uses.get(name);
    this.uses.set(name, known === 'whole' || fields === 'whole' ? 'whole' : [...(known ?? []), ...fields]);
  }
}

/** The object on `o`'s prototype chain that holds `key` itself (read without running code), or null. */
function ownerOf(o: unknown, key: string): object | null {
  for (let p = o; isInspectable(p); p = Object.getPrototypeOf(p) as unknown) if (Object.hasOwn(p, key)) return p;
  return null;
}

function tree(paths: readonly (readonly string[])[]): FieldTree | 'whole' {
  const root: FieldTree = new Map();
  for (const p of paths) {
    if (p.length === 0) return 'whole';
    let node = root;
    for (let k = 0; k < p.length; k++) {
      const key = p[k]!;
      const next = node.get(key);
      if (next === 'whole') break;
      if (k === p.length - 1) node.set(key, 'whole');
      else if (next) node = next;
      else {
        const child: FieldTree = new Map();
        node.set(key, child);
        node = child;
      }
    }
  }
  return root;
}

function guardValue(w: GuardWriter, v: unknown, path: string, get: Getter, fields: FieldTree | 'whole'): void {
  if (typeof v === 'function') {
    w.identity(v, path, get);
    return;
  }
  // Getters and Proxies included: guards read data properties only (see ./property-reads).
  if (!isInspectable(v) || v instanceof Tensor || fields === 'whole' || Array.isArray(v)) {
    w.walk(v, path, get);
    return;
  }
  w.sameType(v, path, get);
  for (const [key, sub] of fields) {
    guardValue(w, readData(v, key), childPath(path, key), (r) => readData(get(r), key), sub);
  }
}
