/**
 * Blocks of a linear memory: best fit from the free ranges (kept in address
 * order), a freed block merged with the free ranges it touches, the memory
 * grown when nothing fits. It lets one arena hold both tensors' data, which
 * lives until freed, and each call's scratch, freed when the call ends.
 */

/** Every block starts and ends on 16 bytes, so v128 loads of whole rows are aligned. */
const ALIGN = 16;

export interface ByteRange {
  at: number;
  bytes: number;
}

export class BlockAllocator {
  /** Free ranges, in address order, none touching another. */
  private readonly free: ByteRange[] = [];
  /** Size of each live block, by its start. */
  private readonly live = new Map<number, number>();
  private end: number;

  /**
   * `initial`: the memory there is (all free). `grow(bytes)` adds at least
   * `bytes` at the end of the memory and returns the range it added (it
   * throws a RangeError where the memory cannot grow).
   */
  constructor(
    initial: ByteRange,
    private readonly grow: (bytes: number) => ByteRange,
  ) {
    this.end = initial.at + initial.bytes;
    if (initial.bytes > 0) this.free.push({ ...initial });
  }

  /** The start of a new block of at least `bytes` bytes. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let best = this.bestFit(size);
    if (best < 0) {
      // A free range at the end of the memory counts toward what is missing.
      const last = this.free.at(-1);
      const tail = last && last.at + last.bytes === this.end ? last.bytes : 0;
      const added = this.grow(size - tail);
      this.end = added.at + added.bytes;
      this.insert(added);
      best = this.bestFit(size);
    }
    const range = this.free[best]!;
    const at = range.at;
    if (range.bytes === size) this.free.splice(best, 1);
    else {
      range.at += size;
      range.bytes -= size;
    }
    this.live.set(at, size);
    return at;
  }

  /** Frees the block starting at `at`. */
  release(at: number): void {
    const bytes = this.sizeOf(at);
    this.live.delete(at);
    this.insert({ at, bytes });
  }

  /** The size in bytes of the live block starting at `at`. */
  sizeOf(at: number): number {
    const bytes = this.live.get(at);
    if (bytes === undefined) throw new Error(`no live block starts at byte ${at}`);
    return bytes;
  }

  /** The smallest free range of at least `size` bytes (the first of equals), or -1. */
  private bestFit(size: number): number {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const bytes = this.free[i]!.bytes;
      if (bytes < size || (best >= 0 && bytes >= this.free[best]!.bytes)) continue;
      best = i;
      if (bytes === size) break;
    }
    return best;
  }

  /** Adds a free range, merged with its free neighbours. */
  private insert(range: ByteRange): void {
    let [lo, hi] = [0, this.free.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.at < range.at) lo = mid + 1;
      else hi = mid;
    }
    const [prev, next] = [this.free[lo - 1], this.free[lo]];
    const joinsNext = next !== undefined && range.at + range.bytes === next.at;
    if (prev && prev.at + prev.bytes === range.at) {
      prev.bytes += range.bytes;
      if (joinsNext) {
        prev.bytes += next.bytes;
        this.free.splice(lo, 1);
      }
    } else if (joinsNext) {
      next.at = range.at;
      next.bytes += range.bytes;
    } else this.free.splice(lo, 0, { ...range });
  }
}
