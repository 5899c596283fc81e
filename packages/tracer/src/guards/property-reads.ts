/**
 * Reading the user's objects without running the user's code. Guards,
 * closure guards and the result walk look at arguments, closures, modules
 * and results on every call; a getter, a Proxy trap or a `valueOf` they
 * triggered would run more often than the function runs it (once per
 * guard, on calls that replay and never run it at all). So they read only
 * data properties, through property descriptors, and treat the rest — an
 * accessor property, anything behind a Proxy — as HIDDEN: something guards
 * cannot look into, which makes the entry re-run the function, whose own
 * reads then run each getter exactly as often as the code says.
 */

/** What a read gives instead of a value that only running user code could produce: an accessor property, or a Proxy on the way. */
export const HIDDEN: unique symbol = Symbol('kiln.hidden');

type ProxyTest = (v: unknown) => boolean;

/**
 * Whether `v` is a Proxy, asked without touching it (any other question
 * to a Proxy is a trap). Node answers through util.types.isProxy; a
 * browser has no such test, and there a Proxy reads as the object it wraps.
 */
export const isProxy: ProxyTest = (() => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const util = proc?.getBuiltinModule?.('node:util') as { types?: { isProxy?: ProxyTest } } | undefined;
  return util?.types?.isProxy ?? (() => false);
})();

/** An object guards may look into: not null, not a Proxy. */
export function isInspectable(v: unknown): v is object {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && !isProxy(v);
}

/**
 * `o[key]` when that is a data property of `o` or of an object on its
 * prototype chain (undefined when there is none); HIDDEN when reading it
 * would run code (a getter, a Proxy) or `o` is not an object.
 */
export function readData(o: unknown, key: string | number): unknown {
  for (let p = o; p !== null; p = Object.getPrototypeOf(p) as unknown) {
    if (!isInspectable(p)) return HIDDEN;
    const d = Object.getOwnPropertyDescriptor(p, key);
    if (d) return 'value' in d ? d.value : HIDDEN;
  }
  return undefined;
}

/** The name of an accessor property on `o`'s prototypes below Object.prototype (its class's getters), or null. */
export function inheritedAccessor(o: object): string | null {
  for (
    let p = Object.getPrototypeOf(o) as object | null;
    p !== null && p !== Object.prototype && p !== Function.prototype;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    if (isProxy(p)) return '(a Proxy prototype)';
    const descriptors = Object.getOwnPropertyDescriptors(p);
    for (const key of Reflect.ownKeys(descriptors)) {
      if (!('value' in descriptors[key as string]!)) return String(key);
    }
  }
  return null;
}

/** `a plain object`, `a Linear`: what an object is, read without running its code. */
export function typeName(v: object): string {
  if (isProxy(v)) return 'a Proxy';
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === null || proto === Object.prototype) return 'a plain object';
  const name = readData(readData(proto, 'constructor'), 'name');
  return `a ${typeof name === 'string' && name !== '' ? name : 'object'}`;
}
