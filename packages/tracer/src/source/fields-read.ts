/**
 * Which fields of each free variable a function reads, from its runtime
 * source (`fn.toString()`), with the same scope analysis the load-time
 * transform uses: `cfg.eps` and `cfg.model.nHead` read two fields of
 * `cfg`; `f(cfg)` or `cfg[k]` uses all of it. Closure guards check only
 * what is read. Names a test runner gave imports (`__vi_import_0__.F`)
 * are read back as the names the code was written with.
 */
import { parseFunction, sourceOf } from './function-source';
import { analyzeScopes, freeVariables } from './scope';
import { IMPORT_NAMESPACE } from './tooling';

/** Field paths read off a variable; `'whole'`: the value itself is used. */
export type FieldUse = readonly (readonly string[])[] | 'whole';

const cache = new WeakMap<object, ReadonlyMap<string, FieldUse> | null>();

/** The free variables of `fn` and the fields it reads of each; null when its source cannot be parsed. */
export function fieldsRead(fn: (...args: never[]) => unknown): ReadonlyMap<string, FieldUse> | null {
  let found = cache.get(fn);
  if (found === undefined) {
    found = analyze(sourceOf(fn));
    cache.set(fn, found);
  }
  return found;
}

function analyze(source: string): ReadonlyMap<string, FieldUse> | null {
  const fn = parseFunction(source)?.fn;
  if (!fn) return null;
  const out = new Map<string, FieldUse>();
  const merge = (name: string, use: FieldUse) => {
    const known = out.get(name);
    if (known === 'whole' || use === 'whole') out.set(name, 'whole');
    else out.set(name, [...(known ?? []), ...use]);
  };
  for (const v of freeVariables(analyzeScopes(fn), fn)) {
    if (IMPORT_NAMESPACE.test(v.name) && v.fields !== null) {
      // `__vi_import_0__.cfg.eps`: the import `cfg`, field `eps`
      for (const f of v.fields) if (f.length > 0) merge(f[0]!, f.length > 1 ? [f.slice(1)] : 'whole');
      continue;
    }
    merge(v.name, v.fields === null || v.written ? 'whole' : v.fields);
  }
  return out;
}
