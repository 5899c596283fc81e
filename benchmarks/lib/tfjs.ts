/**
 * TensorFlow.js, a peer kiln is compared with: its cpu (plain JS), wasm and
 * webgpu backends. The webgpu backend runs on kiln's own Dawn device (one
 * GPUDevice for the whole process), so both libraries meet the same driver
 * and the same lavapipe threads.
 */

import { createRequire } from 'node:module';
import type { GpuRuntime } from '@kiln/gpu-runtime';
import type * as tfc from '@tensorflow/tfjs-core';
import { type HostTensor, type LoadedLibrary, type Peer, type PeerSlot, provideNavigatorGpu, reason, type TfBackend } from './peer';

export type Tf = typeof tfc;
export type TfTensor = tfc.Tensor;

const TF_NAME: Record<TfBackend, string> = { 'tfjs-cpu': 'cpu', 'tfjs-wasm': 'wasm', 'tfjs-webgpu': 'webgpu' };

export interface TfPeers extends LoadedLibrary<TfBackend> {
  tf: Tf;
  /** Makes `backend` current (tensors are created on the current backend). */
  use(backend: TfBackend): Promise<void>;
}

/**
 * Loads tfjs-core and the backends wanted. `rt` (kiln's runtime) is required
 * for tfjs-webgpu: the backend is built on rt.device.
 */
export async function loadTfjs(wanted: readonly TfBackend[], rt: GpuRuntime | undefined): Promise<TfPeers> {
  const available = new Set<TfBackend>();
  const missing: Partial<Record<TfBackend, string>> = {};
  if (wanted.includes('tfjs-webgpu')) {
    // The backend module checks `navigator.gpu` when it is imported and uses
    // Dawn's globals (GPUBufferUsage, ...): both must exist before the import.
    if (rt) await provideNavigatorGpu();
    else missing['tfjs-webgpu'] = 'no WebGPU device';
  }
  const tf = await import('@tensorflow/tfjs-core');
  tf.env().set('PROD', true); // no NaN checks, no debug-mode data reads between ops
  if (wanted.includes('tfjs-cpu')) {
    try {
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('setBackend(cpu) returned false');
      available.add('tfjs-cpu');
    } catch (error) {
      missing['tfjs-cpu'] = reason(error);
    }
  }
  if (wanted.includes('tfjs-wasm')) {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('its .wasm binary did not load (setBackend returned false)');
      available.add('tfjs-wasm');
    } catch (error) {
      missing['tfjs-wasm'] = reason(error);
    }
  }
  if (wanted.includes('tfjs-webgpu') && rt) {
    try {
      const webgpu = await import('@tensorflow/tfjs-backend-webgpu');
      // The backend's own factory would request a second device; this one
      // wraps kiln's GPUDevice instead, so both libraries share it.
      tf.removeBackend('webgpu');
      const info = rt.adapterInfo;
      const adapterInfo = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
      tf.registerBackend('webgpu', () => new webgpu.WebGPUBackend(rt.device, adapterInfo as GPUAdapterInfo), 3);
      if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend(webgpu) returned false');
      available.add('tfjs-webgpu');
    } catch (error) {
      missing['tfjs-webgpu'] = reason(error);
    }
  }
  const use = async (backend: TfBackend) => {
    if (!(await tf.setBackend(TF_NAME[backend]))) throw new Error(`tfjs backend ${backend} could not be selected`);
    await tf.ready();
  };
  const library = `TensorFlow.js ${tf.version_core}`;
  const columns = Object.fromEntries(
    wanted.map((backend): [TfBackend, PeerSlot] => [
      backend,
      available.has(backend) ? tfjsPeer(tf, use, backend, library) : { missing: missing[backend] ?? 'not loaded' },
    ]),
  );
  return { name: 'TensorFlow.js', version: tf.version_core, columns, tf, use };
}

/** The column of one tfjs backend: the workload's `tfjs` function on tensors made from kiln's inputs. */
function tfjsPeer(tf: Tf, use: (backend: TfBackend) => Promise<void>, backend: TfBackend, library: string): Peer {
  return {
    column: backend,
    library,
    tolerance: (workload) => workload.tfjsTolerance,
    async prepare(workload, { args, params }) {
      await use(backend);
      const made: TfTensor[] = [];
      const toTf = (h: HostTensor) => {
        const x = tf.tensor(h.data, [...h.shape], 'float32');
        made.push(x);
        return x;
      };
      try {
        const run = workload.tfjs(tf, args.map(toTf), Object.fromEntries(Object.entries(params).map(([k, h]) => [k, toTf(h)])));
        return {
          async result() {
            const y = tf.tidy(run);
            const data = Float32Array.from(await y.data());
            y.dispose();
            return data;
          },
          step: tfStep(tf, run),
          dispose: () => tf.dispose(made),
        };
      } catch (error) {
        tf.dispose(made);
        throw error;
      }
    },
  };
}

/**
 * Registers tfjs-core's gradient functions (for tf.variableGrads and the
 * optimizers). The @tensorflow/tfjs union package does it by importing
 * tfjs-core's dist/register_all_gradients, an ESM build with
 * extensionless imports that Node cannot load; bundled with esbuild it
 * loads, and registers into the registry and engine that every copy of
 * tfjs-core shares (they live on globalThis).
 */
export async function registerTfjsGradients(): Promise<void> {
  const { build } = await import('esbuild');
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const bundle = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'silent' });
  await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0]!.text).toString('base64')}`);
}

/**
 * A timed tfjs step, the twin of lib/sync.ts `step`: computes `fn`
 * (intermediates freed by tf.tidy), forces completion by reading one
 * element back, frees the result.
 */
export function tfStep(tf: Tf, fn: () => TfTensor): () => Promise<void> {
  return async () => {
    const y = tf.tidy(fn);
    const first = tf.tidy(() => tf.slice(tf.reshape(y, [-1]), 0, 1));
    await first.data();
    tf.dispose([y, first]);
  };
}
