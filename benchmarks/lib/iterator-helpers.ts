/**
 * jax-js, a peer of `pnpm bench` (lib/jax.ts), calls iterator helpers
 * (`matchAll(...).map`, in einsum, so in its attention), which Node 20's V8
 * has only behind --harmony-iterator-helpers. Node takes no V8 flag in
 * NODE_OPTIONS, and later V8s, which ship the helpers, dropped the flag (an
 * unknown flag stops Node), so a script that always passed it would break
 * there. Hence this re-run, which passes the flag only where it is needed.
 */
import { spawnSync } from 'node:child_process';

const ITERATOR_HELPERS = '--harmony-iterator-helpers';

/**
 * Called first thing by main.ts: where the helpers are missing, runs this
 * process's script again in a Node with the flag (same arguments, same
 * loader) and exits as it does; elsewhere returns at once.
 */
export function rerunWithIteratorHelpers(): void {
  if ('Iterator' in globalThis || process.execArgv.includes(ITERATOR_HELPERS)) return;
  const run = spawnSync(process.execPath, [ITERATOR_HELPERS, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  if (run.signal) process.kill(process.pid, run.signal);
  process.exit(run.status ?? 1);
}
