/**
 * Which recorder (if any) is capturing right now, and running a function
 * under a mode. A synchronous function runs with the mode installed. An
 * async function resumes after each `await` from the event loop, after the
 * mode would have been uninstalled; where AsyncLocalStorage exists (Node),
 * a router mode stays installed while async calls are in flight and sends
 * each op to the mode of the async context it comes from, so ops after an
 * `await` inside `fn` are captured and ops of unrelated code are not.
 * Without it, only the part before the first `await` is captured and the
 * rest runs eagerly (correct, only slower).
 */

import type { AsyncLocalStorage } from 'node:async_hooks';
import type { AttrsOf, Input, Mode, OpName, Tensor, TensorMeta } from '@kiln/eager';
import { execute, getMode, setMode, withMode } from '@kiln/eager';
import { nodeBuiltin } from '@kiln/gpu-runtime';
import { isProxy } from '../guards/property-reads';
import { Recorder } from './recorder';

let storage: AsyncLocalStorage<Mode> | null | undefined;

function asyncStorage(): AsyncLocalStorage<Mode> | null {
  if (storage === undefined) {
    const hooks = nodeBuiltin<{ AsyncLocalStorage: new () => AsyncLocalStorage<Mode> }>('node:async_hooks');
    storage = hooks ? new hooks.AsyncLocalStorage() : null;
  }
  return storage;
}

let inFlight = 0;
/** The mode that was installed when the router went in: what ops outside any async call still go to. */
let below: Mode | null = null;

const router: Mode = {
  call<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor {
    const m = storage?.getStore() ?? below;
    return m ? m.call(op, inputs, attrs, meta) : execute(op, inputs, attrs, meta);
  },
  read(t: Tensor): void {
    (storage?.getStore() ?? below)?.read?.(t);
  },
  backward(t: Tensor, gradient: Tensor | null, retainGraph: boolean): void {
    const m = storage?.getStore() ?? below;
    // Outside any capture (unrelated code while an async call is in flight): eager's backward.
    if (m?.backward) m.backward(t, gradient, retainGraph);
    else withMode(null, () => t.backward(gradient, { retainGraph }));
  },
};

/** The mode in charge of the current code (looking through the router). */
function currentMode(): Mode | null {
  const m = getMode();
  return m === router ? (storage?.getStore() ?? below) : m;
}

/** The recorder capturing the code that is running, if any. */
export function activeRecorder(): Recorder | null {
  const m = currentMode();
  return m instanceof Recorder ? m : null;
}

const AsyncFunction = (async () => {}).constructor;

const proxiedAsync = new WeakMap<object, boolean>();

export function isAsyncFunction(f: unknown): boolean {
  if (typeof f !== 'function' || !isProxy(f)) return f instanceof AsyncFunction;
  // A Proxy's prototype is one of its traps: asked once, not on every call.
  let known = proxiedAsync.get(f);
  if (known === undefined) proxiedAsync.set(f, (known = f instanceof AsyncFunction));
  return known;
}

/**
 * Runs `fn` with `mode` receiving its ops; for an async `fn`, also those
 * after its awaits (see above). `afterSync` runs when only the synchronous
 * part could be captured and it has returned.
 */
export function runUnder<T>(mode: Mode, isAsync: boolean, fn: () => T, afterSync?: () => void): T {
  const als = isAsync ? asyncStorage() : null;
  if (!als) {
    const result = withMode(mode, fn);
    if (isAsync) afterSync?.();
    return result;
  }
  if (inFlight++ === 0) below = setMode(router);
  const leave = () => {
    if (--inFlight === 0 && getMode() === router) {
      setMode(below);
      below = null;
    }
  };
  let result: T;
  try {
    // Synchronous code below this call sees the router only through its store.
    result = als.run(mode, () => withMode(router, fn));
  } catch (e) {
    leave();
    throw e;
  }
  if (result instanceof Promise) {
    result.then(leave, leave);
    return result;
  }
  leave();
  return result;
}
