/**
 * Device-side asserts, as CUDA has them. A kernel cannot throw: a kernel
 * that checks an index records the first violation in a small buffer, goes
 * on without reading outside any tensor, and the runtime raises the
 * violation as a KilnError at the next readback or sync. Kernels that run
 * on the host (cpu) throw the same error at once.
 *
 * A site says what a check is about (the op the user called and the dim it
 * indexes); sites are numbered process-wide, so kernels of every device and
 * target share the numbers and the messages.
 */
import { KilnError } from './errors';

interface Site {
  readonly op: string;
  readonly dim: number;
}

const sites: Site[] = [];
const siteIds = new Map<string, number>();

/** The number (>= 1) of the check "an index into dim `dim`, for op `op`". */
export function assertSite(op: string, dim: number): number {
  const key = `${op}\u0000${dim}`;
  let id = siteIds.get(key);
  if (id === undefined) {
    id = sites.push({ op, dim });
    siteIds.set(key, id);
  }
  return id;
}

/** The error of a failed index check at `site`: the op, the index and the size. */
export function indexError(site: number, index: number, size: number, deferred = false): KilnError {
  const s = sites[site - 1];
  if (!s) return new KilnError(`a kernel reported an unknown check ${site} (bug)`, { op: 'webgpu' });
  const when = deferred ? ' (found by a webgpu kernel and raised at this sync, as CUDA raises a device-side assert)' : '';
  return new KilnError(`index ${index} is out of range for dim ${s.dim} of size ${size}${when}`, { op: s.op });
}

/** Words of the assert buffer: [site (0: none), index (as i32 bits), size, unused]. */
export const ASSERT_WORDS = 4;

/**
 * WGSL of the checks for a kernel that binds the assert buffer at `binding`:
 * `kiln_check_index(v, n, site)` records the first violation of 0 <= v < n
 * (the kernel reads a clamped index meanwhile: never outside a tensor).
 */
export function assertWgsl(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> kiln_assert: array<atomic<u32>, ${ASSERT_WORDS}>;
fn kiln_check_index(v: i32, n: u32, site: u32) {
  if (v >= 0 && u32(v) < n) { return; }
  loop {
    let r = atomicCompareExchangeWeak(&kiln_assert[0], 0u, site);
    if (r.exchanged) {
      atomicStore(&kiln_assert[1], bitcast<u32>(v));
      atomicStore(&kiln_assert[2], n);
      break;
    }
    if (r.old_value != 0u) { break; }
  }
}`;
}

/** The error recorded in the assert buffer's words, if any. */
export function recordedError(words: Uint32Array): KilnError | undefined {
  if (words[0] === 0) return undefined;
  return indexError(words[0]!, words[1]! | 0, words[2]!, true);
}
