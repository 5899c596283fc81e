/**
 * The peers kiln is compared with: other libraries, each on some of its
 * backends. A peer column is one library on one backend, in the rows of one
 * kiln device; a library module (lib/tfjs.ts, lib/jax.ts) loads the
 * library and builds its columns, each workload holds the library's version
 * of its math and the tolerance it is checked with, and lib/run-row.ts
 * checks and times every column the same way.
 */
import type { Device, Tensor } from '@kiln/eager';
import { type GpuRuntime, gpuEntry } from '@kiln/gpu-runtime';
import type { Tolerance, Workload } from '../workloads/workload';
import type { TfPeers } from './tfjs';

export type TfBackend = 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-webgpu';
export type JaxBackend = 'jax-js-wasm' | 'jax-js-webgpu';
export type PeerColumn = TfBackend | JaxBackend;

/** The peer columns of each device's rows, in table order. */
export const PEERS_OF: Record<Device, readonly PeerColumn[]> = {
  webgpu: ['tfjs-webgpu', 'jax-js-webgpu'],
  cpu: ['tfjs-cpu', 'tfjs-wasm', 'jax-js-wasm'],
};

/** A kiln tensor's values, copied out: what peers (and the hand kernels) build their inputs from. Never written to. */
export interface HostTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export async function hostTensor(t: Tensor): Promise<HostTensor> {
  return { data: Float32Array.from(await t.data()), shape: t.shape };
}

/** A workload's inputs as a peer receives them: the call's arguments, and the model's parameters by field path. */
export interface PeerInputs {
  readonly args: readonly HostTensor[];
  readonly params: Readonly<Record<string, HostTensor>>;
}

/** A workload's call in a peer, built on copies of kiln's inputs. */
export interface PeerCall {
  /** One call with its whole result read back: what is checked against kiln eager. */
  result(): Promise<Float32Array>;
  /** One timed call: compute, wait for completion, free the result. */
  step(): Promise<void>;
  /** Frees the inputs and whatever the call keeps. */
  dispose(): void;
}

/** One peer column, loaded. */
export interface Peer {
  readonly column: PeerColumn;
  /** The library and its version ('TensorFlow.js 4.22.0'), for messages. */
  readonly library: string;
  /** How close its result must be to kiln eager's on `workload`, and why that is looser than kiln's own tolerance. */
  tolerance(workload: Workload): Tolerance & { why: string };
  /** Builds `workload` on this column's backend, from its inputs' values. */
  prepare(workload: Workload, inputs: PeerInputs): Promise<PeerCall>;
}

/** A column with its peer, or why it has none. */
export type PeerSlot = Peer | { missing: string };

/** A library after loading it for some of its columns. */
export interface LoadedLibrary<C extends PeerColumn> {
  /** 'TensorFlow.js', 'jax-js'. */
  readonly name: string;
  readonly version: string;
  /** Each column it was loaded for: its peer, or why it has none. */
  readonly columns: Partial<Record<C, PeerSlot>>;
}

/** The peers of a run. */
export interface Peers {
  /** Each wanted column: its peer, or why it has none. */
  readonly columns: Partial<Record<PeerColumn, PeerSlot>>;
  /** The version of each library that loaded, by name. */
  readonly versions: Record<string, string>;
  /** TensorFlow.js where it loaded: the training rows (W8) run its optimizers. */
  readonly tfjs?: TfPeers;
}

export const isTfBackend = (column: PeerColumn): column is TfBackend => column.startsWith('tfjs-');
const isJaxBackend = (column: PeerColumn): column is JaxBackend => column.startsWith('jax-js-');

/** Why a peer is missing, from what it threw: the error's first line. */
export const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

/**
 * What a WebGPU library looks for when it loads: `navigator.gpu`, here the
 * GPU object kiln's own device came from (Dawn's in Node), and
 * `navigator.userAgent`, which jax-js's kernel tuning reads. Node 20 has no
 * `navigator` and Node 21+ one without `gpu`; a browser has both already,
 * and nothing is changed there. Dawn's globals (GPUBufferUsage, ...) are
 * set by gpuEntry().
 */
export async function provideNavigatorGpu(): Promise<void> {
  const gpu = await gpuEntry();
  const nav = (globalThis as { navigator?: { gpu?: GPU; userAgent?: string } }).navigator;
  if (!nav) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'Node.js' }, configurable: true, writable: true });
    return;
  }
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  if (!nav.userAgent) Object.defineProperty(nav, 'userAgent', { value: 'Node.js', configurable: true });
}

/**
 * Loads the libraries of the `wanted` columns. `rt` (kiln's runtime) is
 * required for the webgpu columns. Never throws: a library that cannot be
 * imported or started leaves its columns missing, with the reason.
 */
export async function loadPeers(wanted: readonly PeerColumn[], rt: GpuRuntime | undefined): Promise<Peers> {
  const columns: Partial<Record<PeerColumn, PeerSlot>> = {};
  const versions: Record<string, string> = {};
  const load = async <C extends PeerColumn, L extends LoadedLibrary<C>>(
    name: string,
    mine: readonly C[],
    loader: (mine: readonly C[]) => Promise<L>,
  ): Promise<L | undefined> => {
    if (mine.length === 0) return undefined;
    try {
      const library = await loader(mine);
      versions[library.name] = library.version;
      Object.assign(columns, library.columns);
      return library;
    } catch (error) {
      for (const column of mine) columns[column] = { missing: `${name} did not load: ${reason(error)}` };
      return undefined;
    }
  };
  const tfjs = await load('TensorFlow.js', wanted.filter(isTfBackend), async (mine) => (await import('./tfjs')).loadTfjs(mine, rt));
  await load('jax-js', wanted.filter(isJaxBackend), async (mine) => (await import('./jax')).loadJax(mine, rt));
  return { columns, versions, ...(tfjs ? { tfjs } : {}) };
}

/** What a run reports of its peers: the libraries that loaded (name -> version), the columns that ran, why the others did not. */
export interface PeerSummary {
  versions: Record<string, string>;
  available: PeerColumn[];
  missing: Partial<Record<PeerColumn, string>>;
}

export function peerSummary(peers: Peers): PeerSummary {
  const slots = Object.entries(peers.columns) as [PeerColumn, PeerSlot][];
  return {
    versions: { ...peers.versions },
    available: slots.flatMap(([column, slot]) => ('missing' in slot ? [] : [column])),
    missing: Object.fromEntries(slots.flatMap(([column, slot]) => ('missing' in slot ? [[column, slot.missing]] : []))),
  };
}

/** One line: 'TensorFlow.js 4.22.0, jax-js 0.1.25: tfjs-webgpu, ...; missing: jax-js-wasm (why)'. */
export function describePeers(summary: PeerSummary): string {
  const libraries = Object.entries(summary.versions).map(([name, version]) => `${name} ${version}`);
  const missing = Object.entries(summary.missing).map(([column, why]) => `${column} (${why})`);
  return `${libraries.join(', ') || 'none loaded'}: ${summary.available.join(', ') || 'none'}${missing.length ? `; missing: ${missing.join('; ')}` : ''}`;
}
