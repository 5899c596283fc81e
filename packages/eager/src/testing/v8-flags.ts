/**
 * Features Node 20's V8 has only behind flags, which `pnpm bench` and `pnpm
 * fuzz` want: relaxed SIMD (kiln's cpu gemm fuses its multiply-add with it,
 * as it does by default from Node 21, so the bench times and the fuzz checks
 * the form those users run) and iterator helpers (jax-js, a peer of the
 * bench, calls `matchAll(...).map` in einsum, so in its attention). Node takes no V8 flag in
 * NODE_OPTIONS, and later V8s, which ship both, dropped the flags (an
 * unknown flag stops Node), so a script that always passed them would break
 * there. Hence this re-run, which passes a flag only where it is needed.
 */
import { spawnSync } from 'node:child_process';
import { relaxedMaddAvailable } from '../kernels/wasm/simd-probe';

const ITERATOR_HELPERS = '--harmony-iterator-helpers';
const RELAXED_SIMD = '--experimental-wasm-relaxed-simd';

/** Relaxed SIMD shipped in V8 11.4 (Node 21); before it, the flag turns it on. */
const relaxedNeedsFlag = () => !relaxedMaddAvailable() && Number(process.versions.node.split('.')[0]) < 21;

/**
 * Called first thing by the scripts: where a feature is missing, runs this
 * process's script again in a Node with the flags (same arguments, same
 * loader) and exits as it does; elsewhere returns at once.
 */
export function rerunWithV8Flags(): void {
  const flags = [...('Iterator' in globalThis ? [] : [ITERATOR_HELPERS]), ...(relaxedNeedsFlag() ? [RELAXED_SIMD] : [])].filter(
    (f) => !process.execArgv.includes(f),
  );
  if (flags.length === 0) return;
  const run = spawnSync(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  if (run.signal) process.kill(process.pid, run.signal);
  process.exit(run.status ?? 1);
}
