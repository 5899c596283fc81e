/**
 * Closure guards: the record the load-time transform passes as
 * `options.closure` (see ../transform/transform), read on every call.
 *
 * Each call reads the closure's current values (a variable read before its
 * declaration ran makes that call run `fn` as written). A new cache entry
 * looks at what the function reads from its closure — its free variables,
 * those of the module's functions it calls (helpers) and of the methods of
 * the module's classes it calls, transitively (see ./code) — and guards it:
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
 *   read with a computed key, a method called on it), by its whole
 *   structure, as an argument is;
 * - a field read through a getter, or a Proxy, as something guards cannot
 *   look into: they never run it, and the entry re-runs `fn`, whose own
 *   reads run it as often as the code says.
 *
 * With every free variable guarded, the entry replays when nothing else
 * forbids it (graph breaks, side effects: see ../compile and ../cache/replay).
 */
import { KilnError } from '@kiln/eager';

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
  /**
   * The module's classes, by name (each also in `names`, so that `get`
   * returns the class): the free names of each class's body. A method
   * found on that class's prototype (or an own field of its instance) may
   * read those, through this record (see ./code).
   */
  readonly classes?: Readonly<Record<string, readonly string[]>>;
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
    (r.renamed !== undefined && (typeof r.renamed !== 'object' || r.renamed === null || !strings(Object.values(r.renamed)))) ||
    (r.classes !== undefined &&
      (typeof r.classes !== 'object' || r.classes === null || !Object.values(r.classes).every((v) => Array.isArray(v) && strings(v))))
  ) {
    throw new KilnError(
      `${where}: options.closure must be { names: string[], get: () => unknown[], kiln?: string[], globals?: string[], unseen?: string, renamed?: Record<string, string>, classes?: Record<string, string[]> } ` +
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
  /** The classes the record names (see ClosureRecord.classes). */
  readonly classes: readonly string[];
  private checked = false;

  constructor(
    record: unknown,
    private readonly name: string,
  ) {
    this.record = checkRecord(record, name);
    this.record.names.forEach((n, i) => this.index.set(n, i));
    this.kiln = new Set(this.record.kiln ?? []);
    this.globals = new Set(this.record.globals ?? []);
    this.classes = Object.keys(this.record.classes ?? {});
  }

  /** Why the transform could not see the function compiled (then `names` holds none of what it reads). */
  get unseen(): string | undefined {
    return this.record.unseen;
  }

  /** Where `name`'s value is in what `read()` returns; undefined when it was not passed. */
  indexOf(name: string): number | undefined {
    return this.index.get(name);
  }

  /** Whether `name` is bound to an import from a @kiln package (library code: not guarded). */
  isKiln(name: string): boolean {
    return this.kiln.has(name);
  }

  /** Whether `name` is a global the module does not declare. */
  isGlobal(name: string): boolean {
    return this.globals.has(name);
  }

  /** The free names of class `k`'s body. */
  classNames(k: string): readonly string[] {
    return this.record.classes?.[k] ?? [];
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
}
