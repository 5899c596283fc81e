/**
 * A map that keeps at most `limit` entries and drops the least recently
 * used one past that: the bound of every cache of generated code and device
 * objects (the runtime's pipelines, bind groups and uniforms, eager's WebGPU
 * pipelines, the JS kernels of eager and the compiler, the tracer's compiled
 * graphs), so that a program whose shapes or constants change on every call
 * cannot grow them without end. A dropped entry is only built again when
 * asked for; whoever holds it keeps it. `onEvict` hears of each entry
 * dropped for room (e.g. to give a buffer back to the pool).
 */
export class LruCache<K, V> {
  /**
   * Each entry with the tick of its last use. A hit only stamps its entry
   * (moving the key to the back of the Map, a delete and a set, cost more
   * than the rest of a small op's dispatch); the least recently used is
   * found by a scan when one must go, which only a full cache asks for.
   */
  private readonly map = new Map<K, { value: V; used: number }>();
  private tick = 0;
  private max: number;

  constructor(
    limit: number,
    private readonly onEvict?: (value: V, key: K) => void,
  ) {
    this.max = checkLimit(limit);
  }

  /** The most entries kept; lowering it drops the least recently used at once. */
  get limit(): number {
    return this.max;
  }

  set limit(limit: number) {
    this.max = checkLimit(limit);
    this.trim();
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    entry.used = ++this.tick;
    return entry.value;
  }

  set(key: K, value: V): void {
    this.map.set(key, { value, used: ++this.tick });
    this.trim();
  }

  /** The value for `key`, made by `make` (and kept) when there is none. */
  getOrSet(key: K, make: () => V): V {
    let v = this.get(key);
    if (v === undefined) this.set(key, (v = make()));
    return v;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  private trim(): void {
    const map = this.map;
    while (map.size > this.max) {
      let oldest: [K, { value: V; used: number }] | undefined;
      for (const kv of map) if (!oldest || kv[1].used < oldest[1].used) oldest = kv;
      const [key, { value }] = oldest!;
      map.delete(key);
      this.onEvict?.(value, key);
    }
  }
}

function checkLimit(limit: number): number {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`an LruCache limit must be a positive integer, got ${limit}`);
  return limit;
}
