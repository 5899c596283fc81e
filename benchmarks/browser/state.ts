/** What the bench page leaves on `window.kilnBench` for the Node driver (benchmarks/lib/in-browser.ts). */
import type { AdapterDescription } from '@kiln/gpu-runtime';
import type { PeerSummary } from '../lib/peer';
import type { RowResult } from '../lib/run-row';

export interface BrowserBenchState {
  done: boolean;
  userAgent: string;
  adapter?: AdapterDescription;
  features?: string[];
  peers: PeerSummary;
  rows: RowResult[];
  error?: string;
}
