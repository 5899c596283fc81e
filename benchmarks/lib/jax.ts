/**
 * jax-js (`@jax-js/jax`), a peer kiln is compared with: JAX's API in
 * JavaScript, whose `jit` traces a function and fuses it into kernels of
 * its own — what kiln's compiled column does. Its wasm backend is a cpu
 * column (single-threaded in Node: its worker pool needs the web `Worker`),
 * its webgpu backend a webgpu column: on Dawn in Node, on a GPUDevice it
 * requests itself from the same adapter as kiln's (jax-js cannot be handed
 * a device), so both meet the same driver and the same lavapipe threads.
 */

import type * as jaxjs from '@jax-js/jax';
import type { GpuRuntime } from '@kiln/gpu-runtime';
import benchmarks from '../package.json' with { type: 'json' };
import { type HostTensor, type JaxBackend, type LoadedLibrary, type Peer, type PeerSlot, provideNavigatorGpu } from './peer';

export type Jax = typeof jaxjs;
export type JaxArray = jaxjs.Array;
/**
 * A workload in jax-js: a function for `jit` of the inputs' values (`args`,
 * and `params` by field path) that, by jax-js's ownership rule, consumes
 * each input once (`.ref` where it is used again).
 */
export type JaxFn = (args: JaxArray[], params: Record<string, JaxArray>) => JaxArray;

const JAX_DEVICE: Record<JaxBackend, 'wasm' | 'webgpu'> = { 'jax-js-wasm': 'wasm', 'jax-js-webgpu': 'webgpu' };

/** jax-js exports no version: it is the exact one benchmarks/package.json pins. */
const VERSION = benchmarks.dependencies['@jax-js/jax'];

/**
 * Loads jax-js and starts the backends wanted. `rt` (kiln's runtime) is
 * required for jax-js-webgpu: jax-js asks `navigator.gpu` for its adapter.
 */
export async function loadJax(wanted: readonly JaxBackend[], rt: GpuRuntime | undefined): Promise<LoadedLibrary<JaxBackend>> {
  const missing: Partial<Record<JaxBackend, string>> = {};
  if (wanted.includes('jax-js-webgpu')) {
    if (rt) await provideNavigatorGpu();
    else missing['jax-js-webgpu'] = 'no WebGPU device';
  }
  const jax = await import('@jax-js/jax');
  const started = await jax.init(...wanted.filter((c) => !missing[c]).map((c) => JAX_DEVICE[c]));
  const library = `jax-js ${VERSION}`;
  const columns = Object.fromEntries(
    wanted.map((column): [JaxBackend, PeerSlot] => {
      const why =
        missing[column] ?? (started.includes(JAX_DEVICE[column]) ? undefined : `init() did not start its ${JAX_DEVICE[column]} backend`);
      return [column, why ? { missing: why } : jaxPeer(jax, column, library)];
    }),
  );
  return { name: 'jax-js', version: VERSION, columns };
}

/** The column of one jax-js backend: the workload's `jax` function under `jit`, on arrays made from kiln's inputs. */
function jaxPeer(jax: Jax, column: JaxBackend, library: string): Peer {
  const device = JAX_DEVICE[column];
  return {
    column,
    library,
    tolerance: (workload) => workload.jaxTolerance,
    async prepare(workload, { args, params }) {
      const fn = jax.jit(workload.jax(jax));
      jax.defaultDevice(device); // where the constants of the traced function go
      const put = (h: HostTensor) => jax.numpy.array(h.data, { shape: [...h.shape], device });
      const inputs = { args: args.map(put), params: Object.fromEntries(Object.entries(params).map(([k, h]) => [k, put(h)])) };
      // A jit-compiled function consumes its arguments: each call is handed new references.
      const call = () => fn(jax.tree.ref(inputs.args), jax.tree.ref(inputs.params));
      return {
        result: async () => Float32Array.from(await call().data()), // data() consumes the result
        async step() {
          const y = call();
          await y.blockUntilReady(); // submits the work and reads zero bytes of the result back after it
          y.dispose();
        },
        dispose() {
          fn.dispose();
          jax.tree.dispose(inputs);
        },
      };
    },
  };
}
