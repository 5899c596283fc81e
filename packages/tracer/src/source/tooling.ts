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
