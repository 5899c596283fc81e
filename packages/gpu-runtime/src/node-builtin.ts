/**
 * A Node built-in module (`node:fs`, `node:worker_threads`, ...) found at
 * run time through `process.getBuiltinModule`, or undefined outside Node:
 * code that uses one where it exists never imports it, so browser bundles
 * do not try to resolve it. The caller types what it uses of the module.
 */
export function nodeBuiltin<T>(id: `node:${string}`): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.(id) as T | undefined;
}
