import { describe, expect, it } from 'vitest';
import { LruCache } from './lru';

describe('LruCache', () => {
  it('keeps at most its limit, dropping the least recently used', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // 'b' is now the least recently used
    c.set('c', 3);
    expect(c.size).toBe(2);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
  });

  it('builds a value once while it is kept, and again after it was dropped', () => {
    const c = new LruCache<string, object>(1);
    let made = 0;
    const make = () => ({ n: ++made });
    const first = c.getOrSet('k', make);
    expect(c.getOrSet('k', make)).toBe(first);
    c.getOrSet('other', make);
    expect(c.getOrSet('k', make)).not.toBe(first);
    expect(made).toBe(3);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});

describe('LruCache eviction', () => {
  it('tells onEvict of each entry dropped for room, also when the limit is lowered', () => {
    const dropped: string[] = [];
    const c = new LruCache<string, number>(3, (_, key) => dropped.push(key));
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, 0);
    expect(dropped).toEqual(['a']);
    c.get('b'); // now c is the least recently used
    c.limit = 1;
    expect(dropped).toEqual(['a', 'c', 'd']);
    expect(c.size).toBe(1);
    expect(() => (c.limit = 0)).toThrow(RangeError);
  });
});
