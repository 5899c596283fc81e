/**
 * Closure guards: what the tracer does with the getter the load-time
 * transform passes as `options.closure` (see ../transform/transform).
 *
 * Each call reads the closure's current values (a variable read before its
 * declaration ran makes that call run `fn` as written). A new cache entry
 * looks at what the function reads from its closure — its free variables,
 * and those of the module's functions it calls (helpers), transitively —
 * and guards it:
 *
 * - a tensor like a tensor argument (dtype, device, sizes, layout): it is an
 *   input of the graph, read fresh on every call, so rebinding a weight to
 *   another tensor of the same kind is seen without a recompile;
 * - a function by identity; a helper's own code is analyzed like `fn`'s (no
 *   side effect, no `this`, everything it reads guarded too), which makes
 *   calling it as safe to skip as `fn`'s own code;
 * - a number, string, boolean (any primitive) by value;
 * - a plain object (or class instance) by its kind and the fields the code
 *   reads (`cfg.eps`, `cfg.model.nHead`); used whole (passed on, spread,
 *   read with a computed key), by its whole structure, as an argument is;
 * - a field read through a getter, or a Proxy, as something guards cannot
 *   look into: they never run it, and the entry re-runs `fn`, whose own
 *   reads run it as often as the code says.
 *
 * With every free variable guarded, the entry replays when nothing else
 * forbids it (graph breaks, side effects: see ../compile and ../cache/replay).
 */
import * as eager from '@kiln/eager';
import { KilnError, Tensor } from '@kiln/eager';
import type { SourceInfo } from '../source/analysis';
import { analyzeFunction, analyzeSource } from '../source/analysis';
import type { FieldUse } from '../source/fields-read';
import { fieldsRead } from '../source/fields-read';
import type { Getter, GuardWriter, Roots } from './guards';
import { childPath } from './guards';
import { isInspectable, readData } from './property-reads';

/** What the load-time transform passes to `compile` as `options.closure`. */
export interface ClosureRecord {
  /** The names of the values `get` returns, in order. */
  readonly names: readonly string[];
  /** The current values of `names`. */
  readonly get: () => readonly unknown[];
  /** Free names bound to imports from @kiln packages: library code, not guarded. */
  readonly kiln?: readonly string[];
  /** Free names the module does not declare (globals): not guarded, so they make the function re-run. */
  readonly globals?: readonly string[];
  /**
   * Why the transform could not see the function compiled (an import, a
   * parameter, a call's result, ...): what it reads is then not in `names`,
   * and explain says so with this reason.
   */
  readonly unseen?: string;
  /**
   * Parameters a build step renamed (tsx writes `x2` for a parameter `x`
   * that shadows a module variable): generated name -> the name in the
   * source, from that step's source map. Guards and graphs use the latter.
   */
  readonly renamed?: Readonly<Record<string, string>>;
}

/** What a cache entry knows about the closure it was traced with. */
export interface ClosurePlan {
  /** `fn`'s source analysis, with the helpers found free of side effects known as such. */
  readonly source: SourceInfo;
  /** Why hits of the entry must re-run the JavaScript because of the closure (empty: it does not forbid replay). */
  readonly reasons: readonly string[];
  /** The variables guarded, as the report names them. */
  readonly guarded: readonly string[];
  /** Adds the closure's guards to the entry's spec. */
  guard(w: GuardWriter): void;
}

type AnyFunction = (...args: never[]) => unknown;

/** Field paths as a tree: `'whole'` where the value itself is used. */
type FieldTree = Map<string, FieldTree | 'whole'>;

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

function checkRecord(record: unknown, where: string): ClosureRecord {
  const r = record as Partial<ClosureRecord> | null;
  const strings = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (
    typeof r !== 'object' ||
    r === null ||
    !Array.isArray(r.names) ||
    !strings(r.names) ||
    typeof r.get !== 'function' ||
    !strings(r.kiln) ||
    !strings(r.globals) ||
    (r.unseen !== undefined && typeof r.unseen !== 'string') ||
    (r.renamed !== undefined && (typeof r.renamed !== 'object' || r.renamed === null || !strings(Object.values(r.renamed))))
  ) {
    throw new KilnError(
      `${where}: options.closure must be { names: string[], get: () => unknown[], kiln?: string[], globals?: string[], unseen?: string, renamed?: Record<string, string> } ` +
        '(what the load-time transform writes), or null',
      { op: 'compile' },
    );
  }
  return r as ClosureRecord;
}

/** The closure of one compiled function. */
export class Closure {
  private readonly record: ClosureRecord;
  private readonly index = new Map<string, number>();
  private readonly kiln: ReadonlySet<string>;
  private readonly globals: ReadonlySet<string>;
  private checked = false;

  constructor(
    record: unknown,
    private readonly name: string,
  ) {
    this.record = checkRecord(record, name);
    this.record.names.forEach((n, i) => this.index.set(n, i));
    this.kiln = new Set(this.record.kiln ?? []);
    this.globals = new Set(this.record.globals ?? []);
  }

  /** The name parameter `name` has in the source (where a build step renamed it). */
  sourceName(name: string): string {
    const renamed = this.record.renamed;
    return renamed && Object.hasOwn(renamed, name) ? renamed[name]! : name;
  }

  /** The closure's values now; null while one of them is not initialized yet (read before its declaration ran). */
  read(): readonly unknown[] | null {
    let values: readonly unknown[];
    try {
      values = this.record.get();
    } catch (e) {
      if (e instanceof ReferenceError) return null;
      throw e;
    }
    if (!this.checked) {
      if (!Array.isArray(values) || values.length !== this.record.names.length) {
        throw new KilnError(
          `${this.name}: options.closure.get() returned ${Array.isArray(values) ? `${values.length} values` : typeof values} for ${this.record.names.length} names`,
          { op: 'compile' },
        );
      }
      this.checked = true;
    }
    return values;
  }

  /** What `fn` reads from its closure with these values, how to guard it, and whether that allows replay. */
  plan(roots: Roots, fn: AnyFunction): ClosurePlan {
    const values = roots.closure ?? [];
    const reasons: string[] = [];
    const uses = new Map<string, FieldUse>();
    /** Per function: null when calling it is as safe to skip as `fn`'s own code, else why not. */
    const verdicts = new Map<AnyFunction, string | null>();

    const use = (name: string, fields: FieldUse) => {
      const known = uses.get(name);
      uses.set(name, known === 'whole' || fields === 'whole' ? 'whole' : [...(known ?? []), ...fields]);
    };

    /**
     * Guards what `f` reads; returns the names of the helpers it calls that
     * are safe, and problems found. `unseen`: names not passed are listed
     * there instead (the transform did not see `f`: one reason says why).
     */
    const readsOf = (f: AnyFunction, base: SourceInfo, problems: string[], unseen?: string[]): Set<string> => {
      const safe = new Set<string>();
      const fields = fieldsRead(f);
      for (const name of base.freeVariables) {
        if (this.kiln.has(name)) continue;
        const i = this.index.get(name);
        if (i === undefined) {
          if (unseen) unseen.push(name);
          else
            problems.push(
              this.globals.has(name)
                ? `it reads the global \`${name}\`, which the load-time transform does not guard`
                : `it reads \`${name}\`, which the load-time transform did not pass (declared where the compile call cannot see it)`,
            );
          continue;
        }
        use(name, fields?.get(name) ?? 'whole');
        const v = values[i];
        if (typeof v !== 'function') continue;
        const why = verdict(v as AnyFunction);
        if (why === null) safe.add(name);
        else problems.push(`it uses \`${name}\`, which ${why}`);
      }
      return safe;
    };

    const verdict = (f: AnyFunction): string | null => {
      const known = verdicts.get(f);
      if (known !== undefined) return known;
      if (isKilnFunction(f)) {
        verdicts.set(f, null);
        return null;
      }
      verdicts.set(f, null); // recursion: assume safe while looking
      const base = analyzeFunction(f);
      let why: string | null = null;
      if (base.opaque !== null) why = base.opaque;
      else {
        const problems: string[] = [];
        const safe = readsOf(f, base, problems);
        const info = safe.size > 0 ? analyzeSource(base.source, base.name, safe) : base;
        const effect = info.sideEffects[0];
        if (problems.length > 0) why = problems[0]!;
        else if (effect) why = `has a side effect at line ${effect.line}: ${effect.description}`;
        else if (info.usesThis) why = 'uses `this`';
        else if (info.isGenerator || info.isAsync) why = `is ${info.isGenerator ? 'a generator' : 'async'}`;
        else if (info.mayEscape) why = 'may keep a value it computes';
      }
      verdicts.set(f, why);
      return why;
    };

    const base = analyzeFunction(fn);
    let source = base;
    if (base.opaque === null) {
      const problems: string[] = [];
      const unseen = this.record.unseen === undefined ? undefined : [];
      const safe = readsOf(fn, base, problems, unseen);
      if (unseen && unseen.length > 0) {
        reasons.push(
          `free variables not guarded, since the load-time transform could not see the function given to compile (${this.record.unseen}): ${unseen.join(', ')}`,
        );
      }
      for (const p of problems) reasons.push(`closure: ${p}`);
      if (safe.size > 0) source = analyzeSource(base.source, base.name, safe);
    }

    const entries = [...uses].map(([name, fields]) => ({ name, fields, i: this.index.get(name)! }));
    return {
      source,
      reasons,
      guarded: entries.map((e) => e.name),
      guard: (w) => {
        for (const e of entries) {
          const get: Getter = (r) => r.closure![e.i];
          guardValue(w, values[e.i], e.name, get, e.fields === 'whole' ? 'whole' : tree(e.fields));
        }
      },
    };
  }
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
