/**
 * `pnpm bench --browser`, the part inside the page: the same workloads,
 * rows and checks as in Node (benchmarks/lib/run-row.ts) on this browser's
 * WebGPU — kiln eager, kiln compiled, the hand kernels, TensorFlow.js's
 * WebGPU backend on kiln's GPUDevice and jax-js's on a device of its own.
 * Options come in the URL (?quick=1&only=W1,W6); progress goes out through
 * `kilnProgress` (exposed by the Node driver, benchmarks/browser.ts), and
 * the rows are left on `window.kilnBench`.
 */
import { initWebGpu } from '@kiln/eager';
import { compiler } from '../lib/compiled';
import { loadPeers, PEERS_OF, peerSummary } from '../lib/peer';
import { runRow } from '../lib/run-row';
import { FULL, QUICK } from '../lib/timing';
import { WORKLOADS } from '../workloads';
import type { BrowserBenchState } from './state';

const state: BrowserBenchState = {
  done: false,
  userAgent: navigator.userAgent,
  peers: { versions: {}, available: [], missing: {} },
  rows: [],
};
const global = globalThis as { kilnBench?: BrowserBenchState; kilnProgress?: (text: string) => void };
global.kilnBench = state;

const params = new URLSearchParams(location.search);
const quick = params.get('quick') === '1';
const only = (params.get('only') ?? '').split(',').filter(Boolean);
const pre = document.getElementById('progress')!;
const progress = (text: string) => {
  pre.textContent += text;
  global.kilnProgress?.(text);
};

try {
  const rt = await initWebGpu();
  state.adapter = rt.adapterInfo;
  state.features = [...rt.features];
  const peers = await loadPeers(PEERS_OF.webgpu, rt);
  state.peers = peerSummary(peers);
  progress('\n');
  for (const workload of WORKLOADS.filter((w) => only.length === 0 || only.includes(w.id))) {
    state.rows.push(
      await runRow(workload, 'webgpu', {
        quick,
        policy: quick ? QUICK : FULL,
        compiler,
        rt,
        peers,
        progress,
      }),
    );
  }
} catch (error) {
  state.error = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
} finally {
  state.done = true;
}
