import { describe, expect, it } from 'vitest';
import { BlockAllocator, type ByteRange } from './block-allocator';

/** An allocator over a memory of `initial` bytes that grows by whole 64-byte units, recording each growth. */
function allocator(initial: number) {
  const grown: number[] = [];
  let end = initial;
  const blocks = new BlockAllocator({ at: 0, bytes: initial }, (bytes): ByteRange => {
    const added = Math.ceil(bytes / 64) * 64;
    grown.push(added);
    end += added;
    return { at: end - added, bytes: added };
  });
  return { blocks, grown, end: () => end };
}

describe('the block allocator', () => {
  it('gives aligned blocks that do not overlap, growing the memory only by what a free tail lacks', () => {
    const { blocks, grown, end } = allocator(64);
    const sizes = [4, 17, 32, 1, 100];
    const ats = sizes.map((s) => blocks.alloc(s));
    const spans = ats.map((at, i) => [at, at + Math.ceil(sizes[i]! / 16) * 16] as const).sort((a, b) => a[0] - b[0]);
    for (const [at] of spans) expect(at % 16).toBe(0);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(spans.at(-1)![1]).toBeLessThanOrEqual(end());
    // 16 + 32 + 32 + 16 + 112 = 208 bytes: 64 there, and growth added only what the free tail lacked each time.
    expect(64 + grown.reduce((a, b) => a + b, 0)).toBeLessThan(208 + 64 * grown.length);
  });

  it('merges a freed block with its free neighbours, so freed memory serves a larger block without growing', () => {
    const { blocks, grown } = allocator(256);
    const ats = [0, 1, 2, 3].map(() => blocks.alloc(64));
    expect(grown).toEqual([]);
    // Free the middle two in either order, then the outer two: one free range of 256 bytes again.
    for (const k of [2, 1, 0, 3]) blocks.release(ats[k]!);
    expect(blocks.alloc(256)).toBe(0);
    expect(grown).toEqual([]);
  });

  it('takes the smallest free range that fits', () => {
    const { blocks } = allocator(1024);
    // Holes of 64, 32 and 48 bytes, each between live blocks.
    const [a, , b, , c] = [64, 16, 32, 16, 48, 16].map((s) => blocks.alloc(s));
    for (const at of [a!, b!, c!]) blocks.release(at);
    expect(blocks.alloc(32)).toBe(b);
    expect(blocks.alloc(40)).toBe(c);
  });

  it('refuses to free what it did not give', () => {
    const { blocks } = allocator(64);
    const at = blocks.alloc(16);
    blocks.release(at);
    expect(() => blocks.release(at)).toThrow(`no live block starts at byte ${at}`);
  });
});
