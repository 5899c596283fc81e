/**
 * A map that keeps at most `limit` entries and drops the least recently
 * used one past that: the bound of every cache of generated code (eager's
 * WebGPU pipelines and JS loops, the compiler's JS kernels, the tracer's
 * compiled graphs), so that a program whose shapes or constants change on
 * every call cannot grow them without end. A dropped entry is only built
 * again when asked for; whoever holds it keeps it.
 */
export class LruCache<K, V> {
  /** Insertion order is recency order: a hit moves its key to the back. */
  private readonly map = new Map<K, V>();

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`an LruCache limit must be a positive integer, got ${limit}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const map = this.map;
    const v = map.get(key);
    if (v !== undefined) {
      map.delete(key);
      map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    const map = this.map;
    map.delete(key);
    map.set(key, value);
    if (map.size > this.limit) map.delete(map.keys().next().value!);
  }

  /** The value for `key`, made by `make` (and kept) when there is none. */
  getOrSet(key: K, make: () => V): V {
    let v = this.get(key);
    if (v === undefined) this.set(key, (v = make()));
    return v;
  }

  clear(): void {
    this.map.clear();
  }
}
