import type * as acorn from 'acorn';

/**
 * Names that build tools and test runners write into the code kiln reads:
 * a function's runtime source (the source analysis, closure guards) and
 * the modules the load-time transform rewrites. Both must recognize the
 * same names, so they are written once, here.
 */

/** Names the test runner or bundler gives imported modules (`import { F } from ...` becomes `__vi_import_0__.F`). */
export const IMPORT_NAMESPACE = /^__(vi|vite_ssr)_import_\d+__$/;

/**
 * Helpers that build tools insert into compiled code: esbuild (and so tsx
 * and Vite) wraps functions in `__name(fn, "name")` to keep their names. It
 * only sets `fn.name`; treating it as an unknown call would make every
 * function run through tsx look like it calls unanalyzed code, and passing
 * it as a closure variable would guard a helper that never changes.
 */
export const TOOLING_HELPERS: ReadonlySet<string> = new Set(['__name']);

/**
 * What a declaration really binds when a build tool wrapped it:
 * `const f = __name((x) => ..., "f")` (esbuild's keepNames, which tsx
 * emits for every named arrow and function expression) binds the function
 * itself, since `__name` returns its first argument. Any other node is
 * returned as it is.
 */
export function unwrapTooling(node: acorn.AnyNode | null): acorn.AnyNode | null {
  if (
    node?.type === 'CallExpression' &&
    node.callee.type === 'Identifier' &&
    TOOLING_HELPERS.has(node.callee.name) &&
    node.arguments.length === 2 &&
    node.arguments[0]!.type !== 'SpreadElement' &&
    node.arguments[1]!.type === 'Literal' &&
    typeof node.arguments[1]!.value === 'string'
  ) {
    return node.arguments[0] as acorn.AnyNode;
  }
  return node;
}
