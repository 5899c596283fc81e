/**
 * How many bytes of device memory the buffer pool may hold: `KILN_GPU_MEMORY_BUDGET`
 * when set, else half of the memory the host gives this process. WebGPU
 * reports no device memory size; on a CPU adapter (lavapipe) device memory
 * is host memory, and a driver that runs out of it crashes the process
 * instead of failing the allocation. A real GPU with less memory than that
 * reports its own out-of-memory error, raised at the next sync point.
 */
import { hostMemory as platformHostMemory } from '#platform';
import { KilnError } from './errors';

export const BUDGET_ENV = 'KILN_GPU_MEMORY_BUDGET';

/** Of the host memory figure, the share the pool takes by default. */
const DEFAULT_SHARE = 0.5;

/** What limits this process's memory, in bytes (Infinity where nothing does). */
export interface HostMemory {
  /** Physical memory (os.totalmem(), or the browser's navigator.deviceMemory). */
  total: number;
  /** The cgroup's memory limit (a container's `--memory`). */
  cgroup: number;
  /** RLIMIT_AS (`ulimit -v`) less the address space already mapped. */
  addressSpaceLeft: number;
}

/** The budget for these host figures: DEFAULT_SHARE of the smallest. */
export function budgetFor(host: HostMemory): number {
  return Math.floor(DEFAULT_SHARE * Math.min(host.total, host.cgroup, host.addressSpaceLeft));
}

/**
 * A budget as written by a user: bytes (`1073741824`), with a binary unit
 * (`512MiB`, `512M`, `2GiB`, `2G`, `64KiB`), or a share of the host memory
 * figure (`25%`).
 */
export function parseBudget(text: string | number, host?: HostMemory, source = 'memoryBudget'): number {
  if (typeof text === 'number') {
    if (text > 0) return text;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(%|[kmgt]i?b?|b)?\s*$/i.exec(text);
    if (m) {
      const value = Number(m[1]);
      const unit = (m[2] ?? 'b').toLowerCase();
      if (unit === '%') {
        if (host && value > 0) return Math.floor((value / 100) * Math.min(host.total, host.cgroup, host.addressSpaceLeft));
      } else {
        const bytes = Math.floor(value * 1024 ** 'bkmgt'.indexOf(unit[0]!));
        if (bytes > 0) return bytes;
      }
    }
  }
  throw new KilnError(
    `cannot read ${source}=${JSON.stringify(text)}: give bytes, a size such as 512MiB or 2GiB, or a share of host memory such as 25%`,
    { op: 'webgpu' },
  );
}

/** This process's host memory figures (Node: OS, cgroup, rlimit; browsers: navigator.deviceMemory); Infinity where unknown. */
export function hostMemory(): Promise<HostMemory> {
  return platformHostMemory();
}

/** The budget a new runtime starts with: the environment variable, else the default for this host. */
export async function initialBudget(): Promise<number> {
  const host = await hostMemory();
  const env = typeof process === 'undefined' ? undefined : process.env[BUDGET_ENV];
  return env ? parseBudget(env, host, BUDGET_ENV) : budgetFor(host);
}
