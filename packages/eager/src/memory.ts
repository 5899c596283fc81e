/**
 * Lifetimes. Storages are reference-counted by the tensors that view them,
 * so a view keeps its base's memory alive and disposing one view never frees
 * data another still uses. A tensor releases its reference on `dispose()`,
 * at the end of the `tidy` it was created in (unless returned), or, as a
 * backstop, when it is garbage-collected.
 */
import { currentRuntime, KilnError, type PoolStats } from '@kiln/gpu-runtime';
import type { Device, Storage } from './backend';
import { getBackend } from './backend';
import type { DType, TypedArray } from './dtype';

export interface MemoryStats {
  /** Tensors created and neither disposed nor garbage-collected. */
  liveTensors: number;
  /** Bytes of live storages per device. */
  bytes: Record<Device, number>;
  /**
   * The webgpu device's own account, once initWebGpu() has run: every buffer
   * kiln holds there (tensors, compiled graphs' buffers, staging), in size
   * classes: `bytesLive` in use, `bytesPooled` cached for reuse,
   * `bytesReserved` both, against `budget` (see initWebGpu's memoryBudget).
   */
  webgpu?: PoolStats;
}

const stats = { liveTensors: 0, bytes: { cpu: 0, webgpu: 0 } };

/** Storages wrapped in a tensor so far (`Storage.born` numbers them). */
let storagesBorn = 0;
export function storagesMade(): number {
  return storagesBorn;
}

export function memoryStats(): MemoryStats {
  const device = currentRuntime()?.pool.stats();
  return { liveTensors: stats.liveTensors, bytes: { ...stats.bytes }, ...(device && { webgpu: device }) };
}

function counted(s: Storage): Storage {
  stats.bytes[s.device] += s.bytes;
  return s;
}

export function allocStorage(device: Device, dtype: DType, numel: number): Storage {
  return counted(getBackend(device).alloc(dtype, numel));
}

export function uploadStorage(device: Device, data: TypedArray): Storage {
  return counted(getBackend(device).upload(data));
}

/**
 * A storage without memory, for symbolic tensors: the tracer's proxies and
 * the compiler's traced decompositions carry shape, dtype and device only.
 * They are not counted as live memory, and kernels never see them.
 */
export function metaStorage(device: Device, dtype: DType, numel: number): Storage {
  return { device, dtype, numel, bytes: 0, refs: 0, version: 0, meta: true };
}

function release(s: Storage): void {
  if (--s.refs > 0 || s.meta) return;
  stats.bytes[s.device] -= s.bytes;
  getBackend(s.device).free(s);
}

// The backstop: a tensor collected without dispose() gives its reference back.
const finalizer = new FinalizationRegistry<Storage>((s) => {
  stats.liveTensors--;
  release(s);
});

interface Disposable {
  dispose(): void;
}

/** Tensors created in each open `tidy`, innermost last. */
const scopes: Set<Disposable>[] = [];

/** Called by every new tensor: takes a reference to its storage and joins the open tidy scope. */
export function trackTensor(t: Disposable, s: Storage): void {
  s.born ??= ++storagesBorn;
  s.refs++;
  scopes.at(-1)?.add(t);
  if (s.meta) return;
  stats.liveTensors++;
  finalizer.register(t, s, t);
}

/** Called once by `dispose()`. */
export function untrackTensor(t: object, s: Storage): void {
  if (!s.meta) {
    finalizer.unregister(t);
    stats.liveTensors--;
  }
  release(s);
}

/**
 * Takes `t` out of every open `tidy`, so that it outlives them (disposed
 * only by `dispose()` or the garbage collector): what kiln keeps on a
 * user's behalf — gradients, optimizer state, module parameters, tensors
 * saved for backward.
 */
export function keep<T extends Disposable>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

/** Tensors reachable from `value` through arrays and plain objects. */
function collect(value: unknown, scope: Set<Disposable>, keep: Set<Disposable>): void {
  if (typeof value !== 'object' || value === null) return;
  if (scope.has(value as Disposable)) {
    keep.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, scope, keep);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) collect(v, scope, keep);
}

/**
 * Runs `fn` and disposes every tensor created inside it except those it
 * returns (a tensor, or arrays / plain objects of them), which join the
 * enclosing tidy. If `fn` throws, everything created inside is disposed.
 * `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const t of scope) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    throw new KilnError('fn returned a Promise; tidy only tracks synchronous code', { op: 'tidy' });
  }
  const keep = new Set<Disposable>();
  collect(result, scope, keep);
  const parent = scopes.at(-1);
  for (const t of scope) {
    if (keep.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}
