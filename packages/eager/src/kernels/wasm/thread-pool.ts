/**
 * Threads for the wasm target: a persistent pool of workers that share the
 * arena's memory (`shared: true`) and run slices of one kernel call with
 * the calling thread. A call is posted through a control block in shared
 * memory and the threads meet with `Atomics.wait`/`notify` — no message
 * round trip per call. Each thread takes slice numbers from one counter
 * until none are left, so a worker that is slow to wake (or not started
 * yet) only means the others take more slices; the caller returns when
 * every slice is done.
 *
 * Workers exist in Node (`worker_threads`) when the memory can be shared.
 * In a browser the target runs on one thread (a Web Worker pool needs a
 * cross-origin isolated page and an asynchronous start; not built yet).
 * `KILN_CPU_THREADS` sets the number of threads (1: none started).
 *
 * A kernel entry (a module's export) is sent to the workers once, as a
 * message they drain synchronously (`receiveMessageOnPort`) when a call
 * needs it. A call's arguments are `base[j] + first * perRow[j] + thread *
 * perThread[j]` for a slice of rows [first, first + rows) run by thread
 * number `thread` (the caller is 0), with argument `rowsArg` set to rows.
 */
import { nodeBuiltin } from '@kiln/gpu-runtime';
import type { KernelFn } from './arena';
import { ARENA_MEMORY, HOST_MATH, type WasmMemory, type WasmModule } from './wasm-api';

/**
 * Control block layout (Int32Array slots). STATE packs the call's number
 * (8 bits), its slice count (12) and the next slice to take (12) into one
 * word, so taking a slice (a compare-and-swap of STATE) can only take one
 * of the call that is current: a worker that wakes late cannot take a
 * slice of one call with the arguments of the next. The other fields are
 * written before STATE publishes a call and not changed until its last
 * slice is done.
 */
const STATE = 0;
const DONE = 1; // slices of the current call finished
const FAILED = 2; // a worker's slice threw (a trap): the call fails instead of waiting forever
const ENTRY = 3;
const ROWS = 4; // rows of the whole call
const CHUNK = 5; // rows per slice
const NARGS = 6;
const ROWS_ARG = 7;
/** Arguments of a threaded call, at most. */
const MAX_ARGS = 32;
const BASE = 8;
const PER_ROW = BASE + MAX_ARGS;
const PER_THREAD = PER_ROW + MAX_ARGS;
const CONTROL_SLOTS = PER_THREAD + MAX_ARGS;
const MAX_SLICES = 0xfff;

/** The code each worker runs (plain JS, no imports: it works the same from source and from the built packages). */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { memory, control, port, thread } = workerData;
const ctl = new Int32Array(control);
const env = { memory };
for (const name of ${JSON.stringify(HOST_MATH)}) env[name] = Math[name];
const entries = new Map();
const drain = () => {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const { id, module, name } = m.message;
    entries.set(id, new WebAssembly.Instance(module, { env }).exports[name]);
  }
};
for (;;) {
  const v = Atomics.load(ctl, ${STATE});
  const slice = v & 0xfff;
  if (slice >= ((v >>> 12) & 0xfff)) {
    Atomics.wait(ctl, ${STATE}, v);
    continue;
  }
  if (Atomics.compareExchange(ctl, ${STATE}, v, v + 1) !== v) continue;
  const id = ctl[${ENTRY}];
  while (!entries.has(id)) drain();
  const chunk = ctl[${CHUNK}];
  const first = slice * chunk;
  const args = [];
  for (let j = 0; j < ctl[${NARGS}]; j++) args.push(ctl[${BASE} + j] + first * ctl[${PER_ROW} + j] + thread * ctl[${PER_THREAD} + j]);
  args[ctl[${ROWS_ARG}]] = Math.min(chunk, ctl[${ROWS}] - first);
  try {
    entries.get(id)(...args);
  } catch {
    Atomics.store(ctl, ${FAILED}, 1);
  }
  Atomics.add(ctl, ${DONE}, 1);
  Atomics.notify(ctl, ${DONE});
}
`;

/** What a call splits: its rows, the arguments of a slice as a function of its first row, and the slice granularity. */
export interface RowSplit {
  rows: number;
  /** Arguments for rows [0, rows): a slice starting at row f gets `base[j] + f * perRow[j]`. */
  base: readonly number[];
  perRow: readonly number[];
  /** Added per thread number (the caller is 0): each thread's own scratch. Absent: zeros. */
  perThread?: readonly number[];
  /** The argument that holds the slice's number of rows. */
  rowsArg: number;
  /** Slices are a multiple of this many rows (a kernel's tile height). */
  multiple: number;
}

interface NodeWorker {
  unref(): void;
  postMessage(value: unknown, transfer?: unknown[]): void;
}
interface WorkerThreads {
  Worker: new (source: string, options: { eval: true; workerData: unknown; transferList: unknown[] }) => NodeWorker;
  MessageChannel: new () => { port1: { postMessage(value: unknown): void; unref?(): void }; port2: unknown };
}

/** Node's worker_threads, when this is Node. */
const workerThreads = () => nodeBuiltin<WorkerThreads>('node:worker_threads');

/** The number of threads to use: KILN_CPU_THREADS, else the cores this process may use (at most 8). */
export function threadCount(): number {
  const env = typeof process === 'undefined' ? undefined : process.env.KILN_CPU_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`KILN_CPU_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  return Math.min(8, nodeBuiltin<{ availableParallelism(): number }>('node:os')?.availableParallelism() ?? 1);
}

/** The threads the wasm target's kernels run on here: threadCount() where workers and a shared memory exist, else 1. */
export function poolThreads(): number {
  return workerThreads() && ARENA_MEMORY.shared ? threadCount() : 1;
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly ports: { postMessage(value: unknown): void }[] = [];
  private readonly ids = new Map<KernelFn, number>();
  /** The number of the current call (8 bits, in STATE). */
  private call = 0;

  private constructor(
    memory: WasmMemory,
    readonly threads: number,
    threadsApi: WorkerThreads,
  ) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * CONTROL_SLOTS));
    for (let w = 1; w < threads; w++) {
      const channel = new threadsApi.MessageChannel();
      const worker = new threadsApi.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { memory, control: this.ctl.buffer, port: channel.port2, thread: w },
        transferList: [channel.port2],
      });
      worker.unref(); // a pool waiting for work does not keep the process alive
      this.ports.push(channel.port1);
    }
  }

  /** A pool of `threadCount()` threads on `memory`, or undefined where threads are not available (or 1 is asked for). */
  static create(memory: WasmMemory): ThreadPool | undefined {
    const api = workerThreads();
    const threads = poolThreads();
    if (!api || threads < 2 || !(memory.buffer instanceof SharedArrayBuffer)) return undefined;
    return new ThreadPool(memory, threads, api);
  }

  /**
   * Runs `fn` (export `name` of `module`, instantiated on the shared
   * memory by the caller) over `split.rows` rows, in slices on every thread.
   */
  run(fn: KernelFn, module: WasmModule, name: string, split: RowSplit): void {
    const { rows, base, perRow, perThread, rowsArg, multiple } = split;
    if (base.length > MAX_ARGS) throw new Error(`a threaded kernel takes at most ${MAX_ARGS} arguments`);
    const id = this.entry(fn, module, name);
    // Two slices per thread: a thread that starts late still finds work, and no slice is tiny.
    const chunk = Math.ceil(rows / (2 * this.threads) / multiple) * multiple;
    const slices = Math.ceil(rows / chunk);
    if (slices > MAX_SLICES) throw new Error(`a threaded call has at most ${MAX_SLICES} slices`);
    const c = this.ctl;
    c[ENTRY] = id;
    c[ROWS] = rows;
    c[CHUNK] = chunk;
    c[NARGS] = base.length;
    c[ROWS_ARG] = rowsArg;
    base.forEach((b, j) => {
      c[BASE + j] = b;
      c[PER_ROW + j] = perRow[j]!;
      c[PER_THREAD + j] = perThread?.[j] ?? 0;
    });
    Atomics.store(c, DONE, 0);
    Atomics.store(c, FAILED, 0);
    this.call = (this.call + 1) & 0xff;
    Atomics.store(c, STATE, (this.call << 24) | (slices << 12));
    Atomics.notify(c, STATE);
    let failure: unknown;
    for (;;) {
      const v = Atomics.load(c, STATE);
      const slice = v & MAX_SLICES;
      if (slice >= slices) break;
      if (Atomics.compareExchange(c, STATE, v, v + 1) !== v) continue;
      const first = slice * chunk;
      const args = base.map((b, j) => b + first * perRow[j]!);
      args[rowsArg] = Math.min(chunk, rows - first);
      try {
        fn(...args);
      } catch (e) {
        failure ??= e;
      }
      Atomics.add(c, DONE, 1);
    }
    // Every slice is finished before the call returns or throws: none can run with the next call's arguments.
    for (let done = Atomics.load(c, DONE); done < slices; done = Atomics.load(c, DONE)) Atomics.wait(c, DONE, done, 100);
    if (failure !== undefined) throw failure;
    if (Atomics.load(c, FAILED)) throw new Error(`kernel ${name} failed on a worker thread (a WebAssembly trap)`);
  }

  /** The id of an entry, sent to every worker the first time. */
  private entry(fn: KernelFn, module: WasmModule, name: string): number {
    let id = this.ids.get(fn);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(fn, id);
      for (const port of this.ports) port.postMessage({ id, module, name });
    }
    return id;
  }
}

/**
 * Runs `fn` over `split`: in slices on `pool`'s threads when `worthThreads`
 * (the caller's measure of its work) and there are slices to share, else on
 * this thread in one call.
 */
export function runSplit(
  pool: ThreadPool | undefined,
  fn: KernelFn,
  module: WasmModule,
  name: string,
  split: RowSplit,
  worthThreads: boolean,
): void {
  if (pool && worthThreads && split.rows >= 2 * split.multiple && split.base.length <= MAX_ARGS) pool.run(fn, module, name, split);
  else fn(...split.base);
}
