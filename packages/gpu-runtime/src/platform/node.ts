/**
 * The host as Node sees it (`#platform` outside browsers): the GPU entry
 * point is Dawn (the `webgpu` package) unless the runtime offers
 * `navigator.gpu` itself, and host memory comes from the OS, the cgroup and
 * the address-space limit; the autotune cache is a file. Browser bundles get ./browser instead (the
 * package's `imports` map picks by the `browser` condition), so neither
 * `webgpu` nor `node:*` reaches them.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { HostMemory } from '../memory-budget';

// The GPU object from `webgpu`'s create() must stay referenced for the whole
// process: if it is garbage-collected while work is in flight, Dawn on
// lavapipe crashes. A module-level binding keeps it alive.
let dawnGpu: GPU | undefined;

/** The WebGPU entry point, or why there is none. */
export async function hostGpu(): Promise<GPU | string> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (dawnGpu) return dawnGpu;
  // Lavapipe's Vulkan loader wants a runtime dir; any writable folder will do.
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (error) {
    return `the 'webgpu' package could not be loaded (${String(error)})`;
  }
  // Dawn's WebGPU classes (GPUBufferUsage, ...) become globals as in a browser.
  Object.assign(globalThis, dawn.globals);
  dawnGpu = dawn.create([]);
  return dawnGpu;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A limit file's value in bytes; 'max' and cgroup v1's 2^63 - 4096 mean none. */
function limit(text: string): number {
  const n = Number(text.trim());
  return Number.isFinite(n) && n > 0 && n < 2 ** 60 ? n : Infinity;
}

export async function hostMemory(): Promise<HostMemory> {
  const cgroup = Math.min(limit(read('/sys/fs/cgroup/memory.max')), limit(read('/sys/fs/cgroup/memory/memory.limit_in_bytes')));
  const rlimit = /^Max address space\s+(\d+)/m.exec(read('/proc/self/limits'));
  const mapped = /^VmSize:\s+(\d+) kB/m.exec(read('/proc/self/status'));
  const addressSpaceLeft = rlimit && mapped ? Math.max(0, Number(rlimit[1]) - Number(mapped[1]) * 1024) : Infinity;
  return { total: totalmem(), cgroup, addressSpaceLeft };
}

/**
 * The autotune cache file: `$KILN_CACHE_DIR/autotune.json`, else
 * `node_modules/.cache/kiln/autotune.json` under the working directory (read
 * at each use, so a process may point it elsewhere).
 */
function tuningFile(): string {
  const dir = process.env.KILN_CACHE_DIR;
  return dir ? join(dir, 'autotune.json') : join(process.cwd(), 'node_modules', '.cache', 'kiln', 'autotune.json');
}

/** Node keeps the autotune cache on disk, shared by the processes of a project. */
export const tuningStore = {
  where: () => tuningFile(),
  read: (): string | undefined => read(tuningFile()) || undefined,
  /** Written to a temporary file renamed over the old one, so a reader never sees half a file. */
  write(text: string): void {
    const file = tuningFile();
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  },
};
