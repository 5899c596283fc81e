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
  /** Insertion order is recency order: a hit moves its key to the back. */
  private readonly map = new Map<K, V>();
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
      const [key, value] = map.entries().next().value as [K, V];
      map.delete(key);
      this.onEvict?.(value, key);
    }
  }
}

function checkLimit(limit: number): number {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`an LruCache limit must be a positive integer, got ${limit}`);
  return limit;
}
