import { describe, expect, it } from 'vitest';
import { WasmArena } from './arena';

describe('arena arrays (Node shares the memory)', () => {
  it('stay valid and owned while the memory grows, come back zeroed, and scratch is freed by reset', () => {
    const arena = new WasmArena();
    const kept = arena.array(1000)!;
    kept.fill(7);
    // Scratch far past the first page grows the memory: the kept array's view still sees its values.
    arena.alloc(1 << 20);
    expect(arena.memory.buffer.byteLength).toBeGreaterThan(1 << 22);
    expect(kept.every((v) => v === 7)).toBe(true);
    expect(arena.owns(kept)).toBe(true);
    expect(arena.owns(new Float32Array(1000))).toBe(false);
    // A kernel writing at the array's pointer is seen through the view.
    arena.f32(kept.byteOffset, 1000)[999] = -1;
    expect(kept[999]).toBe(-1);
    const later = arena.array(10)!;
    expect(arena.owns(later)).toBe(true);
    arena.free(kept.byteOffset);
    const again = arena.array(1000)!;
    expect(again.byteOffset).toBe(kept.byteOffset);
    expect(again.every((v) => v === 0)).toBe(true);
    // The scratch block is freed by reset: the same request lands where it did.
    arena.reset();
    const [first] = [arena.alloc(1 << 20)];
    arena.reset();
    expect(arena.alloc(1 << 20)).toBe(first);
    // Small scratch comes from a block of its own, reused after each reset, apart from the large.
    const small = [arena.alloc(5), arena.alloc(3)];
    expect(small[1]! - small[0]!).toBe(32);
    arena.reset();
    expect(arena.alloc(5)).toBe(small[0]);
    const big = arena.alloc(1 << 20);
    expect(big >= small[0]! + 32 || big + (1 << 22) <= small[0]!).toBe(true);
  });
});
