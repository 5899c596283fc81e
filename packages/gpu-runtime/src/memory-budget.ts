/**
 * How many bytes of device memory the buffer pool may hold: `KILN_GPU_MEMORY_BUDGET`
 * when set, else half of the memory the host gives this process. WebGPU
 * reports no device memory size; on a CPU adapter (lavapipe) device memory
 * is host memory, and a driver that runs out of it crashes the process
 * instead of failing the allocation. A real GPU with less memory than that
 * reports its own out-of-memory error, raised at the next sync point.
 */
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

/** This process's host memory figures; all Infinity where they cannot be read. */
export async function hostMemory(): Promise<HostMemory> {
  const none: HostMemory = { total: Infinity, cgroup: Infinity, addressSpaceLeft: Infinity };
  if (typeof process === 'undefined' || !process.versions?.node) {
    const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
    return { ...none, total: gib ? gib * 2 ** 30 : Infinity };
  }
  const [os, fs] = await Promise.all([import('node:os'), import('node:fs')]);
  const read = (path: string) => {
    try {
      return fs.readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const limit = (text: string) => {
    const n = Number(text.trim());
    return Number.isFinite(n) && n > 0 && n < 2 ** 60 ? n : Infinity; // 'max' and v1's 2^63 - 4096 mean none
  };
  const cgroup = Math.min(limit(read('/sys/fs/cgroup/memory.max')), limit(read('/sys/fs/cgroup/memory/memory.limit_in_bytes')));
  const rlimit = /^Max address space\s+(\d+)/m.exec(read('/proc/self/limits'));
  const mapped = /^VmSize:\s+(\d+) kB/m.exec(read('/proc/self/status'));
  const addressSpaceLeft = rlimit && mapped ? Math.max(0, Number(rlimit[1]) - Number(mapped[1]) * 1024) : Infinity;
  return { total: os.totalmem(), cgroup, addressSpaceLeft };
}

/** The budget a new runtime starts with: the environment variable, else the default for this host. */
export async function initialBudget(): Promise<number> {
  const host = await hostMemory();
  const env = typeof process === 'undefined' ? undefined : process.env[BUDGET_ENV];
  return env ? parseBudget(env, host, BUDGET_ENV) : budgetFor(host);
}
