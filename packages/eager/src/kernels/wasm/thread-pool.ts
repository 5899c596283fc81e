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
 * Workers exist where the memory can be shared: `worker_threads` in Node,
 * Web Workers in a browser page that is cross-origin isolated (elsewhere a
 * page has no SharedArrayBuffer, and kernels run on its one thread).
 * `KILN_CPU_THREADS` sets the number of threads in Node (1: none started);
 * a page uses navigator.hardwareConcurrency (at most 8).
 *
 * A kernel entry (a module's export) is sent to the workers once, as a
 * message: a Node worker drains its port synchronously
 * (`receiveMessageOnPort`) when a call needs it, a Web Worker that took a
 * slice of an entry it has not received awaits the message. Web Workers
 * start asynchronously: until they run, the page's thread takes every
 * slice. A browser's main thread may not block, so it spins for the last
 * slices where Node waits. A call's arguments are `base[j] + first * perRow[j] + thread *
 * perThread[j]` for a slice of rows [first, first + rows) run by thread
 * number `thread` (the caller is 0), with argument `rowsArg` set to rows.
 */
import { nodeBuiltin } from '@kiln/gpu-runtime';
import type { KernelFn } from './arena';
import { ARENA_MEMORY, hostFunctionsSource, type WasmMemory, type WasmModule } from './wasm-api';

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
const WORKER_SLICES = 8; // slices run on worker threads, ever (a diagnostic)
const STARTED = 9; // workers running
/** Arguments of a threaded call, at most. */
const MAX_ARGS = 32;
const BASE = 10;
const PER_ROW = BASE + MAX_ARGS;
const PER_THREAD = PER_ROW + MAX_ARGS;
const CONTROL_SLOTS = PER_THREAD + MAX_ARGS;
const MAX_SLICES = 0xfff;

/**
 * What every worker runs, in Node and in a browser (plain JS, no imports: it
 * works the same from source and from the built packages): its host
 * functions, and `serve`, which takes slices of calls until the thread
 * ends, blocking in Atomics.wait (a worker may) when there is none, and
 * awaits `receive()` for an entry it has not received yet.
 */
const WORKER_CORE = `
function hostEnv(memory) {
  return { memory, ...${hostFunctionsSource()} };
}
async function serve(ctl, thread, entries, receive) {
  Atomics.add(ctl, ${STARTED}, 1);
  for (;;) {
    const v = Atomics.load(ctl, ${STATE});
    const slice = v & 0xfff;
    if (slice >= ((v >>> 12) & 0xfff)) {
      Atomics.wait(ctl, ${STATE}, v);
      continue;
    }
    if (Atomics.compareExchange(ctl, ${STATE}, v, v + 1) !== v) continue;
    const id = ctl[${ENTRY}];
    while (!entries.has(id)) await receive();
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
    Atomics.add(ctl, ${WORKER_SLICES}, 1);
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

/** A Node worker: its start data from workerData, entries drained from its port. */
const NODE_WORKER_SOURCE = `${WORKER_CORE}
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { memory, control, port, thread } = workerData;
const env = hostEnv(memory);
const entries = new Map();
serve(new Int32Array(control), thread, entries, () => {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const { id, module, name } = m.message;
    entries.set(id, new WebAssembly.Instance(module, { env }).exports[name]);
  }
});
`;

/** A Web Worker: its start data, then each entry, as messages. */
const BROWSER_WORKER_SOURCE = `${WORKER_CORE}
let env;
const entries = new Map();
let arrived = () => {};
onmessage = ({ data }) => {
  if (data.memory) {
    env = hostEnv(data.memory);
    serve(new Int32Array(data.control), data.thread, entries, () => new Promise((resolve) => (arrived = resolve)));
  } else {
    entries.set(data.id, new WebAssembly.Instance(data.module, { env }).exports[data.name]);
    arrived();
  }
};
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

interface WebWorker {
  postMessage(value: unknown): void;
  onerror: ((event: { message?: string }) => void) | null;
}
interface WebWorkers {
  Worker: new (url: string) => WebWorker;
  Blob: typeof Blob;
  URL: { createObjectURL(blob: Blob): string };
}

/** Web Workers that can be made from a script's text (a browser), when this is not Node. */
function webWorkers(): WebWorkers | undefined {
  const g = globalThis as Partial<WebWorkers>;
  return !workerThreads() && typeof g.Worker === 'function' && typeof g.URL?.createObjectURL === 'function' && g.Blob
    ? (g as WebWorkers)
    : undefined;
}

/** The number of threads to use: KILN_CPU_THREADS, else the cores this process (or page) may use, at most 8. */
export function threadCount(): number {
  const env = typeof process === 'undefined' ? undefined : process.env?.KILN_CPU_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`KILN_CPU_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  const cores =
    nodeBuiltin<{ availableParallelism(): number }>('node:os')?.availableParallelism() ??
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ??
    1;
  return Math.min(8, cores);
}

/** The threads the wasm target's kernels run on here: threadCount() where workers and a shared memory exist, else 1. */
export function poolThreads(): number {
  return (workerThreads() || webWorkers()) && ARENA_MEMORY.shared ? threadCount() : 1;
}

/** Starts worker number `w` on `memory` and `control`; returns where to post it entries. */
function workerSpawner(memory: WasmMemory, control: ArrayBufferLike): (w: number) => { postMessage(value: unknown): void } {
  const node = workerThreads();
  if (node) {
    return (w) => {
      const channel = new node.MessageChannel();
      const worker = new node.Worker(NODE_WORKER_SOURCE, {
        eval: true,
        workerData: { memory, control, port: channel.port2, thread: w },
        transferList: [channel.port2],
      });
      worker.unref(); // a pool waiting for work does not keep the process alive
      return channel.port1;
    };
  }
  const web = webWorkers()!;
  const source = web.URL.createObjectURL(new web.Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
  return (w) => {
    const worker = new web.Worker(source);
    // A worker that fails only takes no slices (the page's thread runs them): say why.
    worker.onerror = (event) => console.error(`kiln: cpu worker thread ${w} failed: ${event.message ?? 'unknown error'}`);
    worker.postMessage({ memory, control, thread: w });
    return worker;
  };
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
const mayBlock = () => typeof (globalThis as { window?: unknown }).window === 'undefined';

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly ports: { postMessage(value: unknown): void }[] = [];
  private readonly ids = new Map<KernelFn, number>();
  /** The number of the current call (8 bits, in STATE). */
  private call = 0;

  private readonly blocking = mayBlock();

  private constructor(
    memory: WasmMemory,
    readonly threads: number,
  ) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * CONTROL_SLOTS));
    const spawn = workerSpawner(memory, this.ctl.buffer);
    for (let w = 1; w < threads; w++) this.ports.push(spawn(w));
  }

  /** A pool of `threadCount()` threads on `memory`, or undefined where threads are not available (or 1 is asked for). */
  static create(memory: WasmMemory): ThreadPool | undefined {
    const threads = poolThreads();
    if (threads < 2 || !ARENA_MEMORY.shared) return undefined;
    return new ThreadPool(memory, threads);
  }

  /** Workers running so far (a Web Worker starts only once the page has yielded to its event loop). */
  started(): number {
    return Atomics.load(this.ctl, STARTED);
  }

  /** Slices the worker threads have run so far (the calling thread's not counted). */
  workerSlices(): number {
    return Atomics.load(this.ctl, WORKER_SLICES);
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
    for (let done = Atomics.load(c, DONE); done < slices; done = Atomics.load(c, DONE)) if (this.blocking) Atomics.wait(c, DONE, done, 100);
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
